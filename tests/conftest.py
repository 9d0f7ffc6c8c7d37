import contextlib
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

@contextlib.contextmanager
def module_folder(request, tmp_path_factory, name):
    """A folder for a module-scoped run, deleted when the module's tests are done unless one of them failed.

    Workflow runs write hundreds of MB to GBs of stores; kept to the session's end they add up on a small disk.
    """
    folder = tmp_path_factory.mktemp(name)
    failed_before = request.session.testsfailed
    yield folder
    if request.session.testsfailed == failed_before:
        shutil.rmtree(folder, ignore_errors=True)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAKEMAKE = os.path.join(os.path.dirname(sys.executable), "snakemake")


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        kind, body = route
        if kind == "ok":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "truncate":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif kind == "status":
            self.send_error(body, "test status")
        elif kind == "hang":
            time.sleep(body)
        elif kind == "slow":  # the whole body, trickled over ~2.5 s (something to interrupt mid-download)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            step = max(1, len(body) // 25)
            try:
                for i in range(0, len(body), step):
                    self.wfile.write(body[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1; ``serve(path, kind, body)`` adds a route, ``url(path)`` names it."""
    routes = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class Server:
        port = server.server_address[1]

        def serve(self, path, kind="ok", body=b""):
            routes[path] = (kind, body)
            return self.url(path)

        def url(self, path):
            return f"http://127.0.0.1:{self.port}{path}"

    yield Server()
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port():
    """A localhost port with nothing listening (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def md5_of(data):
    return hashlib.md5(data).hexdigest()


def run_snakemake(workdir, *args, timeout=900, check=True, snakefile=None, cwd=None):
    """Run the real snakemake CLI on the repo's Snakefile (or ``snakefile``) in ``workdir`` (started in
    ``cwd``: relative paths in ``args`` are the user's, typed there)."""
    cmd = [SNAKEMAKE, "-s", str(snakefile or os.path.join(REPO, "Snakefile")), "--directory", str(workdir), *args]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc
