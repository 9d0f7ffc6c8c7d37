"""The default run's report, opened in a real browser (Debian's chromium, headless, driven by Playwright)."""

import os
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, module_folder, run_snakemake

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _chromium():
    """Debian's chromium, installed here if it can be (root + apt); else the test is skipped with the reason."""
    path = shutil.which("chromium")
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("no chromium, and no root + apt-get to install Debian's package")
    for cmd in (["apt-get", "install", "-y", "-q", "chromium"], ["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "chromium"]):
        subprocess.run(cmd, capture_output=True, timeout=900, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.skip("Debian's chromium package could not be installed here")


@pytest.fixture(scope="module")
def default_run(request, tmp_path_factory):
    with module_folder(request, tmp_path_factory, "default") as folder:
        shutil.copy(os.path.join(REPO, "config.yaml"), folder / "config.yaml")
        run_snakemake(folder, "--cores", "2", timeout=2400)
        yield folder


def test_the_default_report_in_a_real_browser(default_run, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    chromium = _chromium()
    report = default_run / "results" / "report.html"
    with open(os.path.join(REPO, "config.yaml")) as f:
        sections = [s["title"] for s in yaml.safe_load(f)["report"]["sections"]]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(report.as_uri())
        titles = page.locator("section > h2").all_inner_texts()
        assert titles == ["The run"] + sections
        images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
        assert len(images) >= 20 and all(ok for _, ok in images), [alt for alt, ok in images if not ok]
        text = page.inner_text("body")
        for template in ("{{", "{%", "snakemake.wildcards"):
            assert template not in text
        front = page.inner_text("#front")
        assert "MNIST from embedded" in front and "not the full data set" in front
        assert "trained here" in front and "Config digest" in front and "torch 2." in front
        numbers = page.locator(".numbers").all_inner_texts()
        assert len(numbers) == len(images) and all(n.strip() for n in numbers)  # every figure has its numbers
        assert any("softmax" in n and "[" in n for n in numbers)  # a path's distances with their intervals
        page.screenshot(path=str(tmp_path / "front.png"))
        browser.close()
    assert (tmp_path / "front.png").stat().st_size > 50_000
