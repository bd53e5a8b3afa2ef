"""The page in headless Chromium: a question streams into a cited answer with its source highlighted.

Uses the system's Chromium and chromedriver (Debian `chromium` + `chromium-driver`); never downloads a browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1440,1100",
]
WAIT_S = 60

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium driven by Selenium, with Selenium Manager kept offline."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for (or download) a driver
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def ask(driver: WebDriver, question: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, "#question textarea")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)


def open_page(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#question textarea"))
    # Record whether the answer was ever shown while still being written.
    driver.execute_script(
        "window.sawStreaming = false;"
        "new MutationObserver(() => { if (document.querySelector('#chat .streaming')) window.sawStreaming = true; })"
        ".observe(document.body, {subtree: true, childList: true, characterData: true});"
    )


def test_question_streams_a_cited_answer_with_the_quote_highlighted(
    browser: WebDriver, app_url: str, tmp_path: Path
) -> None:
    open_page(browser, app_url)
    ask(browser, "What did Japan pledge to the Philippines?")
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sources mark"))

    assert browser.execute_script("return window.sawStreaming")
    cites = browser.find_elements(By.CSS_SELECTOR, "#chat a.cite")
    assert cites, "the answer has no citation links"
    target = cites[0].get_attribute("href").split("#", 1)[1]
    card = browser.find_element(By.ID, target)  # the link points at a passage in the source panel
    assert card.find_elements(By.TAG_NAME, "mark")
    assert "Japan" in browser.find_element(By.CSS_SELECTOR, "#chat").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#chat .error")

    cites[0].click()
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return location.hash") == f"#{target}")
    shot = tmp_path / "chat.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_abstention_and_clear_render_in_the_page(browser: WebDriver, app_url: str) -> None:
    open_page(browser, app_url)
    ask(browser, "Who won the 2022 FIFA World Cup?")
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chat .abstain"))
    assert "The sources don't answer this." in browser.find_element(By.CSS_SELECTOR, "#chat .abstain").text
    assert browser.find_elements(By.CSS_SELECTOR, "#sources .source.closest")

    browser.find_element(By.ID, "clear").click()
    WebDriverWait(browser, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#chat .abstain"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#sources .source")


def test_uploaded_document_is_answerable_from_the_page(browser: WebDriver, app_url: str, tmp_path: Path) -> None:
    note = tmp_path / "lighthouse pact.md"
    note.write_text(
        "---\ntitle: Faroe Lighthouse Pact\n---\nNorway and Chile signed the Faroe Lighthouse Pact, agreeing to "
        "restore forty-two historic lighthouses along their coasts before 2031.\n"
    )
    open_page(browser, app_url)
    browser.find_element(By.CSS_SELECTOR, "#add-document button").click()  # the accordion renders lazily
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))
    browser.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(note))
    result = WebDriverWait(browser, WAIT_S).until(
        lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, "#upload-result p, #upload-result .error")]
    )
    assert "Added uploads/lighthouse_pact.md" in result[0]

    ask(browser, "What does the Faroe Lighthouse Pact commit Norway and Chile to?")
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sources mark"))
    assert "forty-two historic lighthouses" in browser.find_element(By.CSS_SELECTOR, "#sources").text
