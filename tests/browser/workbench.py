"""Drives the workbench in headless Chromium (Debian's chromium + chromium-driver, Selenium from
PyPI) against a running server: key prompt, wrong key, read-only key, search with highlights and
the best chunk, text that looks like HTML shown as text, the corpus without write controls for
a read-only key, and delete with a confirmation for the full key. Prints timings; saves
screenshots. Exit status 0 on success; an assertion names what failed.

    python3 tests/browser/workbench.py URL FULL_KEY READ_ONLY_KEY SCREENSHOT_DIR
"""

import os
import shutil
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

url, full_key, read_only_key, shots = sys.argv[1:5]
os.makedirs(shots, exist_ok=True)

options = Options()
options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 30, poll_frequency=0.02)
by_id = lambda i: driver.find_element(By.ID, i)


def use_key(key):
    wait.until(ec.visibility_of_element_located((By.ID, "key")))
    field = by_id("key")
    field.clear()
    field.send_keys(key, Keys.ENTER)


def search(text, mode):
    driver.execute_script("document.getElementById('hits').replaceChildren()")
    by_id("mode").send_keys(mode)
    q = by_id("q")
    q.clear()
    started = time.perf_counter()
    q.send_keys(text, Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#hits li") or by_id("error").is_displayed())
    return (time.perf_counter() - started) * 1e3


try:
    driver.get(url + "/")
    paint = driver.execute_script(
        "const p = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint'); return p ? p.startTime : null"
    )
    print(f"first contentful paint: {paint:.0f} ms" if paint is not None else "first contentful paint: not reported")

    # The server has keys: the page asks for one; a wrong one is refused in words.
    use_key("not-the-key")
    wait.until(lambda d: by_id("error").is_displayed())
    error = by_id("error").text
    assert "401" in error and "not valid" in error, f"wrong key error: {error!r}"

    # The read-only key: search, with highlighted terms and the best chunk marked.
    use_key(read_only_key)
    wait.until(lambda d: "read-only" in by_id("access").text)
    assert not by_id("error").is_displayed(), by_id("error").text
    took = search("数字化转型", "exact terms")
    hits = driver.find_elements(By.CSS_SELECTOR, "#hits li")
    assert hits, f"no hits: {by_id('error').text!r}"
    marks = driver.find_elements(By.CSS_SELECTOR, "#hits mark")
    # highlights cover the term or its parts, in either script (the keyword index folds them)
    assert marks and all(m.text in "数字化转型" or m.text in "數字化轉型" for m in marks), [m.text for m in marks][:5]
    assert driver.find_elements(By.CSS_SELECTOR, "#hits .best"), "the best chunk is not marked"
    server_ms = by_id("searchinfo").text
    print(f"search on screen {took:.0f} ms after Enter ({server_ms})")
    driver.save_screenshot(os.path.join(shots, "workbench-search.png"))

    # A paragraph holding markup is shown as text, never run.
    search("alert", "exact terms")
    texts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#hits .text")]
    assert any("<script>alert('x')</script>" in t for t in texts), texts
    assert not driver.find_elements(By.CSS_SELECTOR, "#hits script, #hits img"), "user text became markup"
    try:
        driver.switch_to.alert
        raise AssertionError("a script in a paragraph ran")
    except NoAlertPresentException:
        pass

    # More like this, from a hit.
    driver.find_element(By.CSS_SELECTOR, "#hits li .link").click()
    wait.until(lambda d: "paragraphs like" in by_id("searchinfo").text)

    # The corpus: documents with dates, and no write controls for the read-only key.
    driver.find_element(By.CSS_SELECTOR, '.tab[data-tab="corpus"]').click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#docs tr"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#docs tr")
    assert len(rows) >= 6, f"{len(rows)} documents listed"
    assert not driver.find_elements(By.CSS_SELECTOR, "#docs button.danger"), "a read-only key sees a delete button"

    # The full key (a new tab session): delete, after a confirmation.
    driver.execute_script("sessionStorage.clear()")
    driver.get(url + "/")
    use_key(full_key)
    wait.until(lambda d: "full" in by_id("access").text)
    driver.find_element(By.CSS_SELECTOR, '.tab[data-tab="corpus"]').click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#docs button.danger"))
    driver.save_screenshot(os.path.join(shots, "workbench-corpus.png"))
    before = len(driver.find_elements(By.CSS_SELECTOR, "#docs tr"))
    target = next(r for r in driver.find_elements(By.CSS_SELECTOR, "#docs tr") if "markup.txt" in r.text)
    target.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait.until(ec.alert_is_present())
    driver.switch_to.alert.accept()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#docs tr")) == before - 1)
    assert "deleted" in by_id("corpusinfo").text, by_id("corpusinfo").text
    print("workbench: all checks passed")
finally:
    driver.quit()
