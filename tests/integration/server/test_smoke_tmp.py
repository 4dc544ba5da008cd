async def test_lint(api):
    status, headers, data = await api("lint", params={"path": "nb/sample.ipynb"})
    print(status, dict(headers), data)
    assert status == 200
    status, headers, data = await api("", )
    print(status, data)
