{{/* Names and labels shared by every template. */}}

{{- define "mikrogranty.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mikrogranty.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mikrogranty.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mikrogranty.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mikrogranty.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mikrogranty.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mikrogranty.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret holding SECRET_KEY, DATABASE_URL, REDIS_URL, MAIL_PASSWORD. */}}
{{- define "mikrogranty.secretName" -}}
{{- default (include "mikrogranty.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* The non-secret settings: the ConfigMap's data, and the migration Job's environment. */}}
{{- define "mikrogranty.settings" -}}
BASE_DOMAIN: {{ .Values.baseDomain | quote }}
{{- range $name, $value := .Values.config }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* The secret settings made by the chart (not with existingSecret). */}}
{{- define "mikrogranty.secretData" -}}
SECRET_KEY: {{ required "secrets.secretKey is required (or existingSecret)" .Values.secrets.secretKey | b64enc | quote }}
DATABASE_URL: {{ required "secrets.databaseUrl is required (or existingSecret)" .Values.secrets.databaseUrl | b64enc | quote }}
REDIS_URL: {{ required "secrets.redisUrl is required (or existingSecret)" .Values.secrets.redisUrl | b64enc | quote }}
MAIL_PASSWORD: {{ .Values.secrets.mailPassword | b64enc | quote }}
{{- if .Values.secrets.migrationDatabaseUrl }}
MIGRATION_DATABASE_URL: {{ .Values.secrets.migrationDatabaseUrl | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* Which key of the Secret the migrations take their DATABASE_URL from. */}}
{{- define "mikrogranty.migrationUrlKey" -}}
{{- if .Values.migrations.databaseUrlKey -}}
{{- .Values.migrations.databaseUrlKey -}}
{{- else if and (not .Values.existingSecret) .Values.secrets.migrationDatabaseUrl -}}
MIGRATION_DATABASE_URL
{{- else -}}
DATABASE_URL
{{- end -}}
{{- end -}}

{{/* Environment of every container: the settings, then the secrets. */}}
{{- define "mikrogranty.envFrom" -}}
- configMapRef:
    name: {{ include "mikrogranty.fullname" . }}
- secretRef:
    name: {{ include "mikrogranty.secretName" . }}
{{- end -}}

{{/* Writable scratch space (the root file system is read-only) and the uploads. */}}
{{- define "mikrogranty.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.uploads.enabled }}
- name: uploads
  mountPath: /app/instance/uploads
{{- end }}
{{- end -}}

{{- define "mikrogranty.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.uploads.enabled }}
- name: uploads
  persistentVolumeClaim:
    claimName: {{ .Values.uploads.existingClaim | default (printf "%s-uploads" (include "mikrogranty.fullname" .)) }}
{{- end }}
{{- end -}}

{{/* The pod-level settings every workload shares. */}}
{{- define "mikrogranty.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}
