"""The README's picture of the page: serve the shipped model, open the example photo in headless
Chromium, brush over the eyes, press Fill, and save the page once the completion is done.

    python scripts/page_screenshot.py [--out docs/serve_page.png]

Needs the [serve] extra, selenium, and Debian's chromium and chromium-driver.
"""
from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def serve() -> tuple[str, object]:
    import uvicorn
    from inpaint.runtime.complete import Inpainter
    from inpaint.serve.app import create_app
    from inpaint.serve.service import batcher_for, model_info
    base = Inpainter.from_bundle()
    app = create_app(batcher_for(base), model_info(base, "ort"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "serve_page.png")
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, server = serve()
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,760", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        driver.get(url + "/")
        driver.find_element(By.ID, "file").send_keys(str(REPO / "examples" / "astronaut_photo.jpg"))
        canvas = driver.find_element(By.ID, "canvas")
        WebDriverWait(driver, 20).until(lambda d: canvas.is_displayed() and canvas.size["width"] > 0)
        driver.execute_script("const b = document.getElementById('brush'); b.value = 22;"
                              "b.dispatchEvent(new Event('input'));")
        w, h = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];",
                                     canvas)
        # the example's eyes: x 188-259, y 94-121 of its 512 x 512 pixels; offsets count from the centre
        scale = w / 512
        x0, x1 = round((188 - 256) * scale), round((259 - 256) * scale)
        for y in (100, 115):
            dy = round((y - 256) * h / 512)
            chain = ActionChains(driver, duration=20).move_to_element_with_offset(canvas, x0, dy).click_and_hold()
            for _ in range(6):
                chain.move_by_offset((x1 - x0) // 6, 0)
            chain.release().perform()
        driver.find_element(By.ID, "fill").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "result").get_attribute("data-state") == "done")
        time.sleep(0.5)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.out))
        print(f"wrote {args.out}")
    finally:
        driver.quit()
        server.should_exit = True


if __name__ == "__main__":
    main()
