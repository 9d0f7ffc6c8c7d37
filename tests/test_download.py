import os

import pytest

from conftest import md5_of
from repgeom import download

BODY = os.urandom(300_000)


def _leftovers(folder):
    return sorted(os.listdir(folder))


def test_good_file_arrives_verified(http_server, tmp_path):
    url = http_server.serve("/good", "ok", BODY)
    dest = tmp_path / "ck.pth"
    md5, size = download.fetch(url, str(dest), md5_of(BODY), timeout=5)
    assert dest.read_bytes() == BODY
    assert (md5, size) == (md5_of(BODY), len(BODY))
    assert _leftovers(tmp_path) == ["ck.pth"]


def test_md5_mismatch_leaves_nothing(http_server, tmp_path):
    url = http_server.serve("/tampered", "ok", BODY)
    dest = tmp_path / "ck.pth"
    with pytest.raises(download.DownloadError, match="md5 mismatch") as err:
        download.fetch(url, str(dest), md5_of(b"something else"), timeout=5)
    assert not isinstance(err.value, download.Unreachable)
    assert _leftovers(tmp_path) == []


def test_http_404_is_an_error_not_unreachable(http_server, tmp_path):
    dest = tmp_path / "ck.pth"
    with pytest.raises(download.DownloadError, match="HTTP 404") as err:
        download.fetch(http_server.url("/missing"), str(dest), md5_of(BODY), timeout=5)
    assert not isinstance(err.value, download.Unreachable)
    assert _leftovers(tmp_path) == []


def test_http_500_is_an_error(http_server, tmp_path):
    url = http_server.serve("/broken", "status", 500)
    with pytest.raises(download.DownloadError, match="HTTP 500"):
        download.fetch(url, str(tmp_path / "ck.pth"), md5_of(BODY), timeout=5)
    assert _leftovers(tmp_path) == []


def test_connection_refused_is_unreachable(closed_port, tmp_path):
    with pytest.raises(download.Unreachable, match="unreachable"):
        download.fetch(f"http://127.0.0.1:{closed_port}/x", str(tmp_path / "ck.pth"), md5_of(BODY), timeout=5)
    assert _leftovers(tmp_path) == []


def test_unresolvable_host_is_unreachable(tmp_path):
    with pytest.raises(download.Unreachable):
        download.fetch("http://no-such-host.invalid/x", str(tmp_path / "ck.pth"), md5_of(BODY), timeout=5)
    assert _leftovers(tmp_path) == []


def test_silent_server_times_out_as_unreachable(http_server, tmp_path):
    url = http_server.serve("/hang", "hang", 5)
    with pytest.raises(download.Unreachable):
        download.fetch(url, str(tmp_path / "ck.pth"), md5_of(BODY), timeout=0.5)
    assert _leftovers(tmp_path) == []


def test_truncated_body_leaves_nothing(http_server, tmp_path):
    url = http_server.serve("/short", "truncate", BODY)
    dest = tmp_path / "ck.pth"
    with pytest.raises(download.DownloadError, match="truncated|broke off") as err:
        download.fetch(url, str(dest), md5_of(BODY), timeout=5)
    assert not isinstance(err.value, download.Unreachable)
    assert _leftovers(tmp_path) == []


def test_existing_file_survives_a_failed_download(http_server, tmp_path):
    dest = tmp_path / "ck.pth"
    dest.write_bytes(b"previous good file")
    url = http_server.serve("/tampered", "ok", BODY)
    with pytest.raises(download.DownloadError):
        download.fetch(url, str(dest), md5_of(b"other"), timeout=5)
    assert dest.read_bytes() == b"previous good file"
    assert _leftovers(tmp_path) == ["ck.pth"]


def test_missing_md5_is_refused(http_server, tmp_path):
    url = http_server.serve("/good", "ok", BODY)
    with pytest.raises(ValueError, match="md5"):
        download.fetch(url, str(tmp_path / "ck.pth"), "", timeout=5)


def test_torch_hub_file_names_carry_the_sha256_prefix_that_is_checked(http_server, tmp_path):
    import hashlib

    body = b"weights" * 1000
    prefix = hashlib.sha256(body).hexdigest()[:8]
    name = f"tinynet-{prefix}.pth"
    assert download.torch_hub_prefix(f"https://download.pytorch.org/models/{name}") == prefix
    assert download.torch_hub_prefix("https://example.org/model.pth") is None
    url = http_server.serve(f"/{name}", "ok", body)
    digest, size = download.fetch(url, str(tmp_path / name), sha256_prefix=prefix)
    assert size == len(body) and (tmp_path / name).read_bytes() == body and digest == md5_of(body)
    bad = http_server.serve("/tampered-deadbeef.pth", "ok", body)
    with pytest.raises(download.DownloadError, match="sha256 mismatch"):
        download.fetch(bad, str(tmp_path / "t.pth"), sha256_prefix="deadbeef")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
