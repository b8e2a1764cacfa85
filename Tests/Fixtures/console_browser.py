#!/usr/bin/env python3
"""Drives postcall's support console in a real browser (Debian's chromium, through
chromedriver and selenium) the way support staff use it, and checks what they see.

  console_browser.py URL --operator NAME:PASSWORD --viewer NAME:PASSWORD --call-id ID
      --dead-event ID --private-event ID --private-value TEXT [--screenshots DIR]

The operator signs in, searches the call id, opens its (dead) event, sees its attempts and
retries it through the confirmation; the viewer signs in, finds no retry on the event and is
refused the retry page; no page either of them opens shows the private value. Prints one line
per step; exits 1 at the first check that fails, saying what the page showed.
"""
import argparse
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


class Check(Exception):
    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--operator", required=True)
    parser.add_argument("--viewer", required=True)
    parser.add_argument("--call-id", required=True)
    parser.add_argument("--dead-event", required=True)
    parser.add_argument("--private-event", required=True)
    parser.add_argument("--private-value", required=True)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    base = args.url.rstrip("/")

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,860", "--disable-gpu"):
        options.add_argument(flag)
    profile = tempfile.TemporaryDirectory()
    options.add_argument("--user-data-dir=" + profile.name)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    visited = []

    def page():
        visited.append(driver.current_url)
        source = driver.page_source
        if args.private_value in source:
            raise Check("the private value is on " + driver.current_url)
        return source

    def expect(condition, what):
        if not condition:
            raise Check(what + "\n--- " + driver.current_url + "\n" + driver.find_element(By.TAG_NAME, "body").text[:2000])
        print("ok:", what)

    def arrive(condition):
        # A click returns when the browser has sent the form, not always once the next page is in.
        try:
            WebDriverWait(driver, 15).until(lambda _: condition())
        except Exception:
            pass

    def heading():
        return driver.find_element(By.TAG_NAME, "h1").text

    def sign_in(credentials):
        name, password = credentials.split(":", 1)
        driver.delete_all_cookies()
        driver.get(base + "/")
        expect("/login" in driver.current_url, "an anonymous visit lands on the sign-in form")
        driver.find_element(By.NAME, "name").send_keys(name)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
        arrive(lambda: heading() == "Dashboard")
        expect(heading() == "Dashboard", name + " signs in and sees the dashboard")
        page()

    try:
        sign_in(args.operator)
        expect(len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")) == 48, "the dashboard draws 24 hours of bars")

        driver.find_element(By.LINK_TEXT, "Events").click()
        arrive(lambda: heading() == "Events")
        page()
        if args.screenshots:
            driver.save_screenshot(os.path.join(args.screenshots, "console-search.png"))
        field = driver.find_element(By.NAME, "call_id")
        field.send_keys(args.call_id)
        field.submit()
        arrive(lambda: "call_id=" in driver.current_url)
        page()
        rows = driver.find_elements(By.CSS_SELECTOR, "table.events tbody tr")
        expect(len(rows) == 1 and args.call_id in rows[0].text, "searching the call id finds its one event")
        rows[0].find_element(By.CSS_SELECTOR, "a").click()
        arrive(lambda: heading() == "Event " + args.dead_event)
        page()
        expect(heading() == "Event " + args.dead_event, "the result opens its event page")
        attempts = driver.find_elements(By.CSS_SELECTOR, "section.attempt")
        expect(len(attempts) >= 1 and "HTTP 400" in attempts[0].text, "the event page lists the attempts with their status")
        expect("dead" in driver.find_element(By.CSS_SELECTOR, "dl.fields").text, "the event is dead")
        if args.screenshots:
            driver.save_screenshot(os.path.join(args.screenshots, "console-event.png"))

        driver.find_element(By.PARTIAL_LINK_TEXT, "Retry this event").click()
        arrive(lambda: heading().startswith("Retry event"))
        page()
        expect("Retry 1 event" in driver.find_element(By.TAG_NAME, "main").text, "the retry asks first, saying how many")
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        arrive(lambda: heading() == "Retried")
        page()
        expect("Requeued 1 event." in driver.find_element(By.TAG_NAME, "main").text, "the operator's retry requeues the event")
        driver.get(base + "/events/" + args.dead_event)
        page()
        expect("pending" in driver.find_element(By.CSS_SELECTOR, "dl.fields").text, "the event is pending again")

        for path in ("/", "/events", "/events?call_id=call-3003", "/events/" + args.private_event):
            driver.get(base + path)
            page()
        print("ok: no private value on", len(visited), "pages")

        driver.find_element(By.CSS_SELECTOR, "nav form button").click()
        arrive(lambda: "/login" in driver.current_url)
        expect("/login" in driver.current_url, "signing out returns to the sign-in form")

        sign_in(args.viewer)
        driver.get(base + "/events?state=dead")
        page()
        expect(not driver.find_elements(By.PARTIAL_LINK_TEXT, "Retry"), "a viewer is offered no retry in a search")
        driver.get(base + "/events/" + args.dead_event)
        page()
        expect(not driver.find_elements(By.PARTIAL_LINK_TEXT, "Retry"), "a viewer is offered no retry on an event")
        driver.get(base + "/events/" + args.dead_event + "/retry")
        page()
        expect("may read but not retry" in driver.find_element(By.TAG_NAME, "main").text, "a viewer is refused the retry page")
    except Check as failure:
        print("FAILED:", failure)
        sys.exit(1)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
