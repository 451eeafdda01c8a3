"""Drives the workbench in headless Chromium (Debian's chromium + chromium-driver, Selenium from
PyPI) against a running server with the seeds: key prompt, wrong key, read-only key, search with
highlights and the best chunk, text that looks like HTML shown as text, a CSV export parsed back,
the theme tree and its chart (hover, keyboard, a theme's paragraphs per year, SVG and PNG
export), two years compared and their text reuse, a document read in order, the corpus without
write controls for a read-only key, and upload and delete for the full key. Prints timings;
saves screenshots. Exit status 0 on success; an assertion names what failed.

    python3 tests/browser/workbench.py URL FULL_KEY READ_ONLY_KEY SCREENSHOT_DIR UPLOAD_FILE
"""

import csv
import glob
import os
import re
import shutil
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

url, full_key, read_only_key, shots, upload_file = sys.argv[1:6]
os.makedirs(shots, exist_ok=True)
downloads = os.path.join(shots, "downloads")
shutil.rmtree(downloads, ignore_errors=True)
os.makedirs(downloads)

options = Options()
options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US"):
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
options.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
wait = WebDriverWait(driver, 30, poll_frequency=0.02)
by_id = lambda i: driver.find_element(By.ID, i)


def use_key(key):
    wait.until(ec.visibility_of_element_located((By.ID, "key")))
    field = by_id("key")
    field.clear()
    field.send_keys(key, Keys.ENTER)


def tab(name):
    driver.find_element(By.CSS_SELECTOR, f'.tab[data-tab="{name}"]').click()


def no_error():
    assert not by_id("error").is_displayed(), by_id("error").text


def downloaded(name):
    """The bytes of a finished download called `name`."""
    path = os.path.join(downloads, name)
    WebDriverWait(driver, 20).until(lambda d: os.path.exists(path) and not glob.glob(path + ".crdownload"))
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def export(bar, kind):
    driver.find_element(By.XPATH, f'//*[@id="{bar}"]//button[text()="{kind}"]').click()


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
    files, wire, plain = driver.execute_script(
        "const e = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]"
        ".filter(r => !r.name.includes('/v1/') && !r.name.includes('/ui/access'));"
        "return [e.length, e.reduce((s, r) => s + r.encodedBodySize, 0), e.reduce((s, r) => s + r.decodedBodySize, 0)]"
    )
    print(f"page weight: {files} files, {wire} bytes as sent (gzip), {plain} bytes unpacked")
    assert files >= 9 and wire < plain, "every asset is sent gzipped"

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
    wait.until(lambda d: by_id("hits").get_attribute("data-render-ms"))
    render = float(by_id("hits").get_attribute("data-render-ms"))
    server_ms = by_id("searchinfo").text
    print(f"search on screen {took:.0f} ms after Enter, {render:.1f} ms after the answer ({server_ms})")
    assert render < 100, f"hits took {render} ms to reach the screen after the answer"
    driver.save_screenshot(os.path.join(shots, "workbench-search.png"))

    # Export what is on screen as CSV and read it back.
    export("searchexport", "CSV")
    rows = list(csv.DictReader(downloaded("simtheme-search.csv").decode("utf-8").splitlines()))
    assert len(rows) == len(hits) and rows[0]["rank"] == "1", rows[:1]
    assert all(r["text"] and r["paragraph_id"] for r in rows), rows[:1]

    # An English question bridged by the glossary to the Chinese term, said on screen.
    search("digital transformation", "hybrid")
    wait.until(lambda d: by_id("bridges").is_displayed())
    assert "数字化转型" in by_id("bridges").text, by_id("bridges").text
    top = driver.find_elements(By.CSS_SELECTOR, "#hits .text")[0].text
    assert "数字化转型" in top or "數字化轉型" in top, top[:80]
    print(f"glossary: {by_id('bridges').text}")

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

    # Themes over time: the tree as rows of the chart, hover, keyboard, a theme's paragraphs.
    tab("themes")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#themechart .rowlabel") or by_id("error").is_displayed())
    no_error()
    print(f"themes: {by_id('themeinfo').text}")
    # five articles make small themes: split those of at least 4 paragraphs
    by_id("minsplit").send_keys("4")
    by_id("themeform").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: re.search(r" in [2-9] levels", by_id("themeinfo").text) or by_id("error").is_displayed())
    no_error()
    print(f"themes split: {by_id('themeinfo').text}")
    roots = driver.find_elements(By.CSS_SELECTOR, "#themechart .rowlabel")
    by_id("expandall").click()
    labels = driver.find_elements(By.CSS_SELECTOR, "#themechart .rowlabel")
    assert len(labels) > len(roots), f"expanding shows sub-themes ({len(roots)} -> {len(labels)} rows)"
    cell = next(c for c in driver.find_elements(By.CSS_SELECTOR, "#themechart .cell") if c.get_attribute("fill").startswith("rgb"))
    ActionChains(driver).move_to_element(cell).perform()
    wait.until(lambda d: by_id("tip").is_displayed())
    tip = by_id("tip").text
    assert "keywords:" in tip and "paragraphs" in tip and "%" in tip, tip
    first = driver.find_elements(By.CSS_SELECTOR, "#themechart .rowlabel")[0]
    driver.execute_script("arguments[0].focus()", first)
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait.until(lambda d: by_id("themepanel").is_displayed() and d.find_elements(By.CSS_SELECTOR, "#themepanel .year"))
    years = [e.get_attribute("data-year") for e in driver.find_elements(By.CSS_SELECTOR, "#themepanel .year")]
    quotes = driver.find_elements(By.CSS_SELECTOR, "#themepanel .quotes li")
    assert quotes and set(years) <= {"2023", "2024", "undated"}, years
    print(f"theme paragraphs: {len(quotes)} quoted over years {years}")
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(os.path.join(shots, "workbench-themes.png"))
    export("themeexport", "SVG")
    chart = downloaded("simtheme-themes.svg").decode("utf-8")
    assert chart.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in chart and "<rect" in chart, chart[:200]
    export("themeexport", "PNG")
    assert downloaded("simtheme-themes.png")[:8] == b"\x89PNG\r\n\x1a\n", "the PNG export is not a PNG"
    export("themeexport", "CSV")
    rows = list(csv.DictReader(downloaded("simtheme-themes.csv").decode("utf-8").splitlines()))
    assert len(rows) == len(labels) and "share 2024" in rows[0], rows[:1]

    # Compare two years (the fields start at the corpus' first and last year), then their reuse.
    tab("compare")
    wait.until(lambda d: by_id("afrom").get_attribute("value") and by_id("bfrom").get_attribute("value"))
    assert (by_id("afrom").get_attribute("value"), by_id("bfrom").get_attribute("value")) == ("2023", "2024")
    by_id("compareform").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#comparelist li") or by_id("error").is_displayed())
    no_error()
    cards = driver.find_elements(By.CSS_SELECTOR, "#comparelist li")
    trends = {c.get_attribute("data-trend") for c in cards}
    assert trends <= {"emerging", "faded", "grown", "shrunk", "stable"} and "2023" in by_id("compareinfo").text, trends
    assert driver.find_elements(By.CSS_SELECTOR, "#comparelist .pair .side"), "representatives side by side"
    print(f"compare: {by_id('compareinfo').text}")
    driver.save_screenshot(os.path.join(shots, "workbench-compare.png"))
    by_id("reuseform").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: by_id("reuseinfo").text or by_id("error").is_displayed())
    no_error()
    assert "2023 (" in by_id("reuseinfo").text and "2024 (" in by_id("reuseinfo").text, by_id("reuseinfo").text
    print(f"reuse: {by_id('reuseinfo').text}")

    # The corpus: documents with dates, a document read in order, and no write controls for
    # the read-only key.
    tab("corpus")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#docs tr"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#docs tr")
    assert len(rows) >= 6, f"{len(rows)} documents listed"
    assert not driver.find_elements(By.CSS_SELECTOR, "#docs button.danger"), "a read-only key sees a delete button"
    assert not by_id("uploadform").is_displayed(), "a read-only key sees the upload form"
    rows[0].find_element(By.CSS_SELECTOR, ".link").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#paras li") or by_id("error").is_displayed())
    no_error()
    numbers = [int(e.text.split()[0].lstrip("¶")) for e in driver.find_elements(By.CSS_SELECTOR, "#paras .meta")]
    assert numbers == sorted(numbers) and numbers[0] == 1, numbers[:10]
    by_id("closereader").click()

    # The full key (a new tab session): delete, after a confirmation.
    driver.execute_script("sessionStorage.clear()")
    driver.get(url + "/")
    use_key(full_key)
    wait.until(lambda d: "full" in by_id("access").text)
    driver.find_element(By.CSS_SELECTOR, '.tab[data-tab="corpus"]').click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#docs button.danger"))
    driver.save_screenshot(os.path.join(shots, "workbench-corpus.png"))

    # Upload a file with a date given in the form.
    assert by_id("uploadform").is_displayed(), "the full key sees no upload form"
    by_id("files").send_keys(upload_file)
    by_id("uploaddate").send_keys("2019-05-04")
    by_id("uploadform").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "files stored" in by_id("uploadinfo").text or by_id("error").is_displayed())
    no_error()
    assert by_id("uploadinfo").text.startswith("1 of 1 files stored"), by_id("uploadinfo").text
    assert "dated 2019-05-04 (given)" in by_id("uploadresults").text, by_id("uploadresults").text
    wait.until(lambda d: any("2019-05-04" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#docs tr")))
    before = len(driver.find_elements(By.CSS_SELECTOR, "#docs tr"))
    target = next(r for r in driver.find_elements(By.CSS_SELECTOR, "#docs tr") if "markup.txt" in r.text)
    target.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait.until(ec.alert_is_present())
    driver.switch_to.alert.accept()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#docs tr")) == before - 1)
    assert "deleted" in by_id("corpusinfo").text, by_id("corpusinfo").text
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "/v1/" not in e["message"] and "/ui/access" not in e["message"]]
    assert not errors, f"errors in the page: {errors}"
    print("workbench: all checks passed")
finally:
    driver.quit()
