"""With a read-only authorizer, nbprod's read routes answer and its write/execute routes do not."""

from __future__ import annotations

import pytest
from jupyter_server.auth import Authorizer


class ReadOnly(Authorizer):
    """Allows the ``read`` action only, on every resource."""

    def is_authorized(self, handler, user, action, resource):
        return action == "read"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"nbprod": True}, "authorizer_class": ReadOnly}}


async def test_read_only_users_can_lint_but_not_fix_export_or_run(api):
    status, _, _ = await api("lint", params={"path": "nb/sample.ipynb"})
    assert status == 200
    status, _, _ = await api("params", params={"path": "nb/sample.ipynb"})
    assert status == 200
    for route, body in (
        ("lint/fix", {"path": "nb/sample.ipynb"}),
        ("export", {"path": "nb/sample.ipynb"}),
        ("run", {"path": "nb/sample.ipynb"}),
        ("pipeline/run", {"path": "nb/sample.ipynb"}),
        ("serve", {"path": "nb/sample.ipynb"}),
        ("serve/predict", {"path": "nb/sample.ipynb", "record": {}}),
    ):
        status, _, data = await api(route, method="POST", body=body)
        assert status == 403, (route, data)
        assert "not authorized" in data["message"]
    status, _, data = await api("jobs", "0123456789abcdef", method="DELETE")
    assert status == 403
    status, _, data = await api("serve", method="DELETE", params={"path": "nb/sample.ipynb"})
    assert status == 403
    status, _, data = await api("serve", params={"path": "nb/sample.ipynb"})
    assert status == 200 and data["running"] is False
