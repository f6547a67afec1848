"""The page at / in a real browser (headless Chromium through Selenium): open a picture, paint a
stroke, press Fill, watch the previews arrive, download the result and check its pixels."""
from __future__ import annotations

import base64
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium")

from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH, HEIGHT = 96, 80          # not square and not the model's 64: the page has to scale
BRUSH = 24                      # the brush's diameter in CSS pixels


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    """Where the browser saves what it downloads."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    """Headless Chromium, its downloads going to `downloads`; quit after the module."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not (p.exists() and shutil.which(str(p)))]
    if missing:
        pytest.skip(f"the browser test needs Debian's chromium and chromedriver; missing {', '.join(missing)}")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "safebrowsing.enabled": False})
    # An explicit driver path: Selenium Manager is never asked to fetch one (there is no internet).
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        behaviour = {"behavior": "allow", "downloadPath": str(downloads)}
        try:
            driver.execute_cdp_cmd("Browser.setDownloadBehavior", {**behaviour, "eventsEnabled": False})
        except Exception:
            driver.execute_cdp_cmd("Page.setDownloadBehavior", behaviour)
        driver.set_script_timeout(20)
        yield driver
    finally:
        driver.quit()


def picture() -> np.ndarray:
    """A 96x80 RGB picture with structure: gradients, stripes and a block."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([40 + 2 * x, 60 + 2 * y, 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)], -1)
    rgb[20:45, 55:80] = (200, 170, 60)
    rgb[:, ::12] //= 2
    return np.clip(rgb, 0, 255).astype(np.uint8)


def open_picture(driver, url: str, path: Path):
    driver.get(url + "/")
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.find_element(By.ID, "file").send_keys(str(path))
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "canvas").is_displayed()
                                    and d.find_element(By.ID, "canvas").size["width"] > 0)
    driver.execute_script("const b = document.getElementById('brush'); b.value = arguments[0];"
                          "b.dispatchEvent(new Event('input'));", BRUSH)
    return driver.find_element(By.ID, "canvas")


def paint_stroke(driver, canvas, steps: int = 8) -> tuple[float, float, float, float]:
    """Drag the mouse across the canvas's middle, from 15% to 85% of its width; returns the
    stroke in the picture's pixels: (x0, x1, y, brush radius)."""
    # Offsets count from the centre of the element's visible part: show all of it first.
    w, h, inside = driver.execute_script(
        "const c = arguments[0]; c.scrollIntoView({block: 'center', inline: 'center'});"
        "const r = c.getBoundingClientRect();"
        "return [r.width, r.height, r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth];",
        canvas)
    assert inside, "the canvas does not fit in the browser's window"
    x0, x1 = round(-0.35 * w), round(0.35 * w)             # offsets from the canvas's centre
    chain = ActionChains(driver, duration=20).move_to_element_with_offset(canvas, x0, 0).click_and_hold()
    dx = (x1 - x0) // steps
    for _ in range(steps):
        chain.move_by_offset(dx, 0)
    chain.release().perform()
    end = x0 + steps * dx
    scale = WIDTH / w
    return (w / 2 + x0) * scale, (w / 2 + end) * scale, (h / 2) * HEIGHT / h, BRUSH / 2 * scale


def page_mask(driver) -> np.ndarray:
    """The hole the page would send (and did send): its black/white mask PNG, read back."""
    url = driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                      "window.inpaint.maskDataURL().then(done, e => done(String(e)));")
    assert url and url.startswith("data:image/png;base64,"), url
    mask = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    return np.asarray(mask.convert("L")) >= 128


def state(driver) -> str:
    return driver.find_element(By.ID, "result").get_attribute("data-state")


def test_paint_fill_watch_and_download(browser, downloads, live_server, tmp_path):
    driver = browser
    img = picture()
    source = tmp_path / "photo.png"
    Image.fromarray(img).save(source)

    canvas = open_picture(driver, live_server.url, source)
    width, height = driver.execute_script("const r = arguments[0].getBoundingClientRect();"
                                          "return [r.width, r.height];", canvas)
    assert width > WIDTH, "the picture should be shown larger than its 96 px"
    assert abs(width / height - WIDTH / HEIGHT) < 0.03, (width, height)
    assert driver.find_element(By.ID, "fill").get_attribute("disabled"), "Fill before anything is painted"

    x0, x1, y, radius = paint_stroke(driver, canvas)
    fill = driver.find_element(By.ID, "fill")
    WebDriverWait(driver, 5).until(lambda d: fill.is_enabled())

    # The mask the page holds is at the picture's natural size and follows the stroke.
    hole = page_mask(driver)
    assert hole.shape == (HEIGHT, WIDTH)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    along = np.clip(xx, x0, x1)
    distance = np.hypot(xx - along, yy - y)
    band = distance <= radius + 1.5                       # the stroke, with a pixel of antialiasing
    assert hole.any() and not hole[~band].any(), "the painted hole strays from the stroke"
    assert hole[distance <= radius - 1.5].all(), "the painted hole misses part of the stroke"

    fill.click()
    result = driver.find_element(By.ID, "result")
    WebDriverWait(driver, 60).until(lambda d: int(result.get_attribute("data-previews") or 0) >= 1
                                    or state(d) == "error")
    WebDriverWait(driver, 60, poll_frequency=0.1).until(lambda d: state(d) in ("done", "error"))
    status = driver.find_element(By.ID, "status").text
    assert state(driver) == "done", f"the page says: {status}"
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "done"
    previews = int(result.get_attribute("data-previews"))
    assert previews >= 1
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", result) == WIDTH

    download = driver.find_element(By.ID, "download")
    assert download.get_attribute("aria-disabled") == "false"
    assert download.get_attribute("href").endswith("/result.png")
    download.click()
    target = downloads / "filled.png"
    deadline = time.monotonic() + 20
    while not (target.exists() and not list(downloads.glob("*.crdownload"))):
        assert time.monotonic() < deadline, f"no filled.png downloaded: {list(downloads.iterdir())}"
        time.sleep(0.1)
    with Image.open(target) as im:
        assert im.size == (WIDTH, HEIGHT)
        out = np.asarray(im.convert("RGB"))

    # Every pixel outside the painted hole is the input's, byte for byte; the hole was filled.
    assert np.array_equal(out[~hole], img[~hole]), "known pixels changed"
    changed = (out != img).any(-1)
    assert changed.any() and not changed[~band].any()
    assert changed[hole].mean() > 0.2, "little of the hole was filled"

    # Nothing was fetched from anywhere but the server itself.
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                                 ".concat([location.href]);")
    foreign = [u for u in urls if not (u.startswith(live_server.url) or u.startswith("data:"))]
    assert not foreign, foreign


def test_undo_and_a_refused_job_shows_the_servers_error(browser, live_server, tmp_path):
    """Also: a JPEG whose EXIF says "rotate 90 degrees" is shown as stored, as the server reads
    it (which ignores the tag), so its mask has the server's size."""
    driver = browser
    source = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(picture()).save(source, exif=exif.tobytes(), quality=95)
    canvas = open_picture(driver, live_server.url, source)
    width, height = driver.execute_script("const r = arguments[0].getBoundingClientRect();"
                                          "return [r.width, r.height];", canvas)
    assert abs(width / height - WIDTH / HEIGHT) < 0.03, "shown rotated, unlike the server reads it"
    assert f"{WIDTH} × {HEIGHT}" in driver.find_element(By.ID, "picture-meta").text
    fill, undo = driver.find_element(By.ID, "fill"), driver.find_element(By.ID, "undo")
    assert state(driver) == "idle" and not undo.is_enabled()

    paint_stroke(driver, canvas)
    WebDriverWait(driver, 5).until(lambda d: fill.is_enabled())
    undo.click()                                          # one stroke, one undo: nothing painted
    WebDriverWait(driver, 5).until(lambda d: not fill.is_enabled())
    assert not page_mask(driver).any()
    assert page_mask(driver).shape == (HEIGHT, WIDTH)

    paint_stroke(driver, canvas)
    WebDriverWait(driver, 5).until(lambda d: fill.is_enabled())
    driver.execute_script("document.getElementById('iterations').value = '0';")   # the server says 422
    fill.click()
    WebDriverWait(driver, 30).until(lambda d: state(d) in ("done", "error"))
    status = driver.find_element(By.ID, "status")
    assert state(driver) == "error", status.text
    assert "iterations" in status.text and "error" in status.get_attribute("class")
    assert status.is_displayed()
    assert fill.is_enabled(), "after an error the user can try again"
    driver.execute_script("document.getElementById('iterations').value = '';")
