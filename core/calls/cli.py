"""``flask calls …``: import a whole edition (a call@1 document) and print a call's results.

Messages go to standard error; ``results --json`` prints the JSON alone on standard output.
A refused document stores nothing and exits with status 1.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from core.db import db, tenant_scope
from core.tenancy.models import Tenant

calls_cli = AppGroup("calls", help="Import calls (interchange documents) and show results.")


def _err(message: str) -> None:
    click.echo(message, err=True)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant is None:
        _err(f"Error: no municipality '{slug}' (see `flask tenants list`).")
        sys.exit(1)
    return tenant


def _read_json(path: Path):
    try:
        return json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        _err(f"Error: {path}: not UTF-8 text ({exc.reason}).")
    except json.JSONDecodeError as exc:
        _err(f"Error: {path}: not valid JSON: {exc.msg} (line {exc.lineno}, "
             f"column {exc.colno}).")
    _err("Nothing was imported.")
    sys.exit(1)


@calls_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", required=True, help="The municipality (its slug).")
def import_command(file, slug):
    """Import the call@1 document FILE into the municipality SLUG."""
    from core.interchange.document import DocumentError
    from core.interchange.operations import import_call

    data = _read_json(file)
    tenant = _tenant(slug)
    with tenant_scope(tenant):
        try:
            call = import_call(data, tenant)
            summary = _summary(call)
            db.session.commit()
        except DocumentError as exc:
            db.session.rollback()
            _err(f"Error: {file} cannot be imported:")
            for problem in exc.problems:
                _err(f"  {problem}")
            _err("Nothing was imported.")
            sys.exit(1)
        except Exception:
            db.session.rollback()
            raise
    _err(f"Imported call {summary['ref']} into {slug}: {summary['applications']} "
         f"applications, {summary['rejected']} rejected by the formal rules.")


def _summary(call) -> dict:
    from core.applications.models import Application, ApplicationStatus

    statuses = db.session.scalars(
        db.select(Application.status).where(Application.call_id == call.id)).all()
    return {"ref": call.ref, "applications": len(statuses),
            "rejected": sum(1 for s in statuses if s == ApplicationStatus.REJECTED)}


@calls_cli.command("results")
@click.argument("ref")
@click.option("--tenant", "slug", required=True, help="The municipality (its slug).")
@click.option("--json", "as_json", is_flag=True, help="Print the results JSON alone.")
def results_command(ref, slug, as_json):
    """Show the results of the call REF of the municipality SLUG."""
    from core.evaluation.results import call_results
    from core.interchange.operations import find_call

    tenant = _tenant(slug)
    with tenant_scope(tenant):
        call = find_call(ref)
        if call is None:
            _err(f"Error: no call '{ref}' in {slug}.")
            sys.exit(1)
        results = call_results(call)
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    click.echo(f"{results['call']}\tpool {results.get('pool') or '-'}\t"
               f"allocated {results.get('allocated') or '-'}\t"
               f"unallocated {results.get('unallocated') or '-'}")
    ranked = list(results.get("ranking") or [])
    others = [r for r in results["applications"] if r not in ranked]
    for app_ref in ranked + others:
        click.echo("\t".join([app_ref, *_details(results["applications"][app_ref])]))


def _details(entry: dict) -> list[str]:
    """An entry of the results as columns: status, then rank, score, amount or reserve
    position, then rules."""
    columns = [entry["status"]]
    if entry.get("rank") is not None:
        columns.append(f"rank {entry['rank']}")
    if entry.get("score") is not None:
        columns.append(entry["score"])
    if entry.get("amount") is not None:
        columns.append(entry["amount"])
    if entry.get("reserve_position") is not None:
        columns.append(f"reserve {entry['reserve_position']}")
    if entry.get("rules"):
        columns.append(", ".join(entry["rules"]))
    return columns
