"""The page in headless Chromium: a question streams into a cited answer with its source highlighted.

Uses the system's Chromium and chromedriver (Debian `chromium` + `chromium-driver`); never downloads a browser.
"""

from __future__ import annotations

import json
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

from eval.dataset import load_dataset
from rag.serving.cli import main

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
def downloads(tmp_path: Path) -> Path:
    """Where the browser saves downloaded files."""
    return tmp_path / "downloads"


@pytest.fixture
def browser(downloads: Path) -> Iterator[WebDriver]:
    """Headless Chromium driven by Selenium, with Selenium Manager kept offline; a fresh profile (empty storage)."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for (or download) a driver
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
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
    span = browser.find_element(By.ID, target)  # the link points at its claim's own span in the source panel
    assert span.tag_name == "mark" and browser.find_elements(By.CSS_SELECTOR, f"#sources .source #{target}")
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


# --- saved chats, export, feedback, the country brief ---------------------------------------------------------


def saved_chats(driver: WebDriver) -> list[str]:
    """The side list's labels, read at once (the list re-renders while it updates)."""
    return driver.execute_script("return [...document.querySelectorAll('#chats label')].map(l => l.innerText.trim())")


def answered(driver: WebDriver, question: str, turn: int = 1) -> None:
    """Ask `question` as answer `turn` of the chat, and wait until it is shown and saved to the side list."""
    ask(driver, question)
    WebDriverWait(driver, WAIT_S).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#chat .answer")) == turn)
    WebDriverWait(driver, 10).until(lambda d: any(chat.endswith(f"({turn})") for chat in saved_chats(d)))


def test_saved_chat_survives_a_reload_and_can_be_reopened_renamed_and_deleted(browser: WebDriver, app_url) -> None:
    open_page(browser, app_url)
    answered(browser, "What did Japan pledge to the Philippines?")
    answered(browser, "And what about Vietnam?", turn=2)  # the same conversation
    assert saved_chats(browser) == ["What did Japan pledge to the Philippines? (2)"]

    browser.refresh()
    WebDriverWait(browser, WAIT_S).until(lambda d: saved_chats(d))
    assert not browser.find_elements(By.CSS_SELECTOR, "#chat a.cite")  # a reload starts a new chat
    browser.find_element(By.CSS_SELECTOR, "#chats label").click()
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#chat .answer")) == 2)
    assert "600 billion" in browser.find_element(By.CSS_SELECTOR, "#chat").text
    assert browser.find_elements(By.CSS_SELECTOR, "#sources mark")

    browser.find_element(By.CSS_SELECTOR, "#chat-title textarea, #chat-title input").send_keys("Pledges")
    browser.find_element(By.ID, "rename-chat").click()
    WebDriverWait(browser, 10).until(lambda d: saved_chats(d) == ["Pledges (2)"])
    browser.find_element(By.ID, "delete-chat").click()
    WebDriverWait(browser, 10).until(lambda d: not saved_chats(d))
    assert not browser.find_elements(By.CSS_SELECTOR, "#chat .answer")
    browser.refresh()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#question textarea"))
    assert not saved_chats(browser)


def test_exported_markdown_and_json_hold_the_quotes(browser: WebDriver, app_url: str, downloads: Path) -> None:
    open_page(browser, app_url)
    answered(browser, "What did Japan pledge to the Philippines?")
    for button, name in (("export-md", "conversation.md"), ("export-json", "conversation.json")):
        WebDriverWait(browser, 10).until(lambda d, b=button: d.find_element(By.ID, b).is_enabled())
        browser.find_element(By.ID, button).click()
        WebDriverWait(browser, 20).until(lambda d, n=name: (downloads / n).exists())
    (answer,) = json.loads((downloads / "conversation.json").read_text(encoding="utf-8"))
    markdown = " ".join((downloads / "conversation.md").read_text(encoding="utf-8").split())
    quotes = [" ".join(q["quote"].split()) for c in answer["citations"] for q in c["quotes"]]
    assert quotes and all(f"“{quote}”" in markdown for quote in quotes)
    assert "## 1. What did Japan pledge to the Philippines?" in markdown


def test_thumbs_down_writes_one_line_that_exports_to_an_eval_case(
    browser: WebDriver, app_url: str, engine, tmp_path: Path, monkeypatch, capsys
) -> None:
    feedback = engine.settings.feedback_file
    before = feedback.read_text(encoding="utf-8").splitlines() if feedback.exists() else []
    open_page(browser, app_url)
    answered(browser, "What did Japan pledge to the Philippines?")
    browser.find_element(By.CSS_SELECTOR, "#feedback-comment textarea").send_keys("Say what the money is for.")
    browser.find_element(By.CSS_SELECTOR, "#chat button[aria-label=Dislike]").click()
    WebDriverWait(browser, 20).until(lambda d: "recorded" in d.find_element(By.ID, "feedback-note").text)
    lines = feedback.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(before) + 1
    record = json.loads(lines[-1])
    assert record["rating"] == "down" and record["comment"] == "Say what the money is for."
    assert record["question"] == "What did Japan pledge to the Philippines?" and record["citations"]

    out = tmp_path / "cases.jsonl"
    monkeypatch.setenv("RAG_FEEDBACK_FILE", str(feedback))
    assert main(["feedback", "export", "--out", str(out)]) == 0
    assert "Left to fill in" in capsys.readouterr().out
    (case,) = [c for c in map(json.loads, out.read_text().splitlines()) if c["question"] == record["question"]]
    case.update(evidence=[case["candidate_evidence"][0]["text"]], reference_answer="JPY 600 billion by March 2024.")
    out.write_text(json.dumps(case) + "\n", encoding="utf-8")
    # What `rag eval --dataset` loads first: the row's shape, and its evidence found verbatim in the corpus.
    (question,) = load_dataset(out, engine.settings.corpus_dir)
    assert question.question == record["question"] and question.evidence


def test_no_raw_markdown_is_visible_in_the_source_panel(browser: WebDriver, app_url: str) -> None:
    open_page(browser, app_url)
    ask(browser, "What did the United States and Vietnam say about human rights?")
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sources mark"))
    panel = browser.find_element(By.ID, "sources")
    assert panel.find_elements(By.CSS_SELECTOR, "strong u")  # the heading's markup, rendered
    assert not any(raw in panel.text for raw in ("**", "<u>", "</u>", "&lt;"))


def test_country_brief_lines_open_their_sources_and_ask_about_prefills_the_chat(
    browser: WebDriver, app_url: str
) -> None:
    open_page(browser, app_url)
    browser.find_element(By.XPATH, "//button[@role='tab' and contains(., 'Countries')]").click()
    box = WebDriverWait(browser, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "#country input"))
    box.send_keys("Vietnam")
    box.send_keys(Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#brief .brief-lines"))
    brief = browser.find_element(By.ID, "brief")
    assert "2023-09-11 On September 10, 2023" in brief.text and "Agreements, pledges and figures" in brief.text
    lines = brief.find_elements(By.CSS_SELECTOR, ".brief-lines li")
    assert lines and all(line.find_elements(By.CSS_SELECTOR, "a.cite") for line in lines)
    panel = browser.find_element(By.ID, "brief-sources")
    assert not any(raw in panel.text for raw in ("**", "<u>", "</u>"))
    cite = lines[-1].find_element(By.CSS_SELECTOR, "a.cite")
    target = cite.get_attribute("href").split("#", 1)[1]
    cite.click()
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return location.hash") == f"#{target}")
    assert browser.find_element(By.ID, target).find_elements(By.TAG_NAME, "mark")

    browser.find_element(By.ID, "ask-country").click()
    WebDriverWait(browser, 10).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#question textarea").get_attribute("value")
            == "What is Japan doing with Vietnam?"
        )
    )
    assert "Vietnam" in browser.find_element(By.ID, "focus").text
