"""Host → tenant resolution, tenant definitions and the tenant filter."""
from __future__ import annotations

from conftest import BASE


def test_main_host_shows_the_tenant_site(create_tenant, clients):
    create_tenant("gmina-a", name="Gmina A")
    response = clients("gmina-a").get("/")
    assert response.status_code == 200
    assert "Gmina A" in response.get_data(as_text=True)


def test_secondary_host_redirects_permanently_to_main_host(create_tenant, clients):
    create_tenant("gmina-a", hosts=["www.gmina-a.example.org"])
    response = clients(None).http.get("/calls?page=2", headers={"Host": "www.gmina-a.example.org"})
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://gmina-a.{BASE}/calls?page=2"


def test_unknown_host_gets_plain_404(create_tenant, clients):
    create_tenant("gmina-a", name="Gmina A")
    response = clients("nieznana").get("/")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Gmina A" not in body and "<nav" not in body


def test_forged_host_outside_trusted_hosts_is_refused(create_tenant, clients):
    create_tenant("gmina-a")
    response = clients(None).http.get("/", headers={"Host": "evil.example.com"})
    assert response.status_code == 400


def test_base_host_home_leads_to_console(clients):
    response = clients(None).get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")
