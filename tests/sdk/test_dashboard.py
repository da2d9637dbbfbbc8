"""The dashboard in a real browser (Debian's chromium and chromium-driver, driven by selenium):
sign in, see the calls just made, read a streamed call's reply, an answer carrying markup shown as
text, webhooks created and re-sent from the page, a call appearing on the live page as it is
recorded, and no data without a session. Each page is
saved as a screenshot under tests/sdk/screenshots/ for a reviewer to look at."""
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from urllib.parse import quote, urlencode

import httpx
import pytest
from openai import OpenAI
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_KEY, Gateway
from fake_provider import chat_completion
from webhook_support import WEBHOOK_YAML

SCREENSHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
XSS = "<script>alert('owned')</script><img src=x onerror=\"alert('img')\"> ok"


@pytest.fixture(scope="module")
def browser():
    os.makedirs(SCREENSHOTS, exist_ok=True)
    log = tempfile.NamedTemporaryFile(prefix="chromedriver-", suffix=".log", delete=False).name
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1360,1000",
                 "--no-first-run", "--disable-background-networking", "--disable-extensions", "--proxy-server=direct://",
                 "--proxy-bypass-list=*"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER, log_output=log))
    except Exception as error:
        tail = open(log, errors="replace").read()[-3000:] if os.path.exists(log) else "(no log)"
        raise RuntimeError(f"Chromium did not start ({error}); chromedriver's last lines:\n{tail}") from None
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    os.unlink(log)


@pytest.fixture(scope="module")
def dashboard(provider, hook_receiver):
    gateway = Gateway(provider.base_url, extra_yaml=WEBHOOK_YAML)
    yield gateway
    gateway.stop()


def shown(browser, css):
    """The element once the page that a click or a redirect leads to shows it."""
    return WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def shot(browser, name):
    browser.save_screenshot(os.path.join(SCREENSHOTS, f"{name}.png"))


def sign_in(browser, gateway, key=ADMIN_KEY):
    browser.get(gateway.url + "/dashboard/login")
    browser.delete_all_cookies()  # a signed-in browser is sent on from the form
    browser.get(gateway.url + "/dashboard/login")
    browser.find_element(By.NAME, "key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "form.signin button").click()
    WebDriverWait(browser, 15).until(
        lambda b: not b.current_url.endswith("/dashboard/login") or b.find_elements(By.CSS_SELECTOR, ".error"))


def no_alert(browser):
    try:
        text = browser.switch_to.alert.text
    except NoAlertPresentException:
        return True
    raise AssertionError(f"a script ran on the page: alert({text!r})")


def test_a_browser_without_a_session_is_sent_to_sign_in_and_shown_no_data(browser, dashboard, provider):
    tag = uuid.uuid4().hex[:8]
    client = OpenAI(base_url=dashboard.url + "/v1", api_key="sk-test")
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                   extra_headers={"Helicone-User-Id": f"secret-user-{tag}"})
    browser.delete_all_cookies()
    for path in ("/dashboard", "/dashboard/requests", "/dashboard/webhooks", "/dashboard/latency", "/dashboard/costs"):
        browser.get(dashboard.url + path)
        assert browser.current_url.endswith("/dashboard/login"), browser.current_url
        assert f"secret-user-{tag}" not in browser.page_source
        assert browser.find_element(By.CSS_SELECTOR, "input[type=password][name=key]")
    shot(browser, "01-sign-in")

    sign_in(browser, dashboard, key="not-the-key")
    assert "not an admin key" in shown(browser, ".error").text
    assert browser.current_url.endswith("/dashboard/login")


def test_signed_in_the_calls_just_made_show_with_their_model_user_property_and_cost_and_a_chart(browser, dashboard, provider):
    tag = uuid.uuid4().hex[:8]
    client = OpenAI(base_url=dashboard.url + "/v1", api_key="sk-test")
    client.chat.completions.create(model=f"gpt-9-preview-{tag}", messages=[{"role": "user", "content": "unpriced"}])
    reply = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is Tollgate?"}],
        extra_headers={"Helicone-User-Id": f"alice-{tag}", "Helicone-Property-Feature": f"search-{tag}"})
    call_id = reply.headers["helicone-id"]
    dashboard.record(call_id)

    sign_in(browser, dashboard)
    shown(browser, "dl.totals")
    assert browser.current_url.endswith("/dashboard")
    overview = browser.find_element(By.TAG_NAME, "main").text
    assert "Calls" in overview and "Cost" in overview
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart svg rect"), "the overview must draw its cost chart"
    assert any("gpt-4o-mini" in figure.text for figure in browser.find_elements(By.CSS_SELECTOR, "figure.chart"))
    unpriced = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "table.unpriced tbody tr")]
    assert any(row.startswith(f"gpt-9-preview-{tag} openai 1 ") for row in unpriced), unpriced
    shot(browser, "02-overview")

    browser.get(dashboard.url + f"/dashboard/requests?user_id=alice-{tag}")
    rows = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert len(rows) == 1
    cells = [cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[1].startswith("gpt-4o-mini")
    assert cells[4] == f"alice-{tag}"
    assert cells[5] == f"feature=search-{tag}"  # the SDK sends header names in lower case
    # The fake provider answers 1,000 input tokens (400 cached) and 200 output. At gpt-4o-mini's
    # published $0.15 input, $0.075 cached input and $0.60 output per million:
    # 600 x 0.15 + 400 x 0.075 + 200 x 0.60 = 90 + 30 + 120 = 240 per million = $0.000240.
    assert cells[7] == "$0.000240", cells
    shot(browser, "03-requests")

    browser.get(dashboard.url + f"/dashboard/requests?property_name=Feature&property_value=search-{tag}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table tbody tr")) == 1


def test_the_overview_latency_and_costs_pages_chart_the_periods_calls_with_tags_shown_as_text(browser, dashboard, provider):
    tag = uuid.uuid4().hex[:8]
    user = f"<b>carol-{tag}</b><script>alert('user')</script>"
    client = OpenAI(base_url=dashboard.url + "/v1", api_key="sk-test")
    ids = []
    for stream in (False, True, False):
        reply = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"charts {tag}"}], stream=stream,
            extra_headers={"Helicone-User-Id": user, "Helicone-Property-Team": f"search-{tag}"})
        if stream:
            for _ in reply.parse():
                pass
        ids.append(reply.headers["helicone-id"])
    for call_id in ids:
        dashboard.record(call_id)

    sign_in(browser, dashboard)
    browser.get(dashboard.url + "/dashboard?period=1h")
    shown(browser, "figure.chart svg polyline, figure.chart svg circle")
    captions = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "figure.chart figcaption")]
    for title in ("Calls and errors", "Cost (USD)", "Tokens", "Latency", "Time to first token (streams)",
                  "Top models by cost", "Top users by cost", "Top team values by cost"):
        assert title in captions, captions
    main = browser.find_element(By.TAG_NAME, "main")
    # Bar labels are cut at 28 characters; the user id's markup is text, never elements.
    assert f"<b>carol-{tag}</b>"[:27] in main.text
    assert not browser.find_elements(By.CSS_SELECTOR, "main b, main script")
    assert browser.find_element(By.CSS_SELECTOR, "nav.periods a[aria-current]").text == "Last hour"
    assert no_alert(browser)
    shot(browser, "06-overview-charts")

    browser.get(dashboard.url + "/dashboard/latency?period=1h")
    tables = browser.find_elements(By.CSS_SELECTOR, "table.latency")
    assert len(tables) == 2
    models = [row.text for row in tables[0].find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert any(row.startswith("gpt-4o-mini ") and " ms" in row for row in models), models
    assert any(row.text.startswith("openai ") for row in tables[1].find_elements(By.CSS_SELECTOR, "tbody tr"))
    captions = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "figure.chart figcaption")]
    assert "Latency p95 by model" in captions and "Gateway overhead" in captions, captions
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart svg polyline, figure.chart svg circle")
    shot(browser, "07-latency")

    browser.get(dashboard.url + "/dashboard/costs?period=24h")
    users = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "table.costs tbody tr")]
    # Two JSON calls at $0.000240 (1,200 tokens each; see the requests test for the arithmetic) and
    # one stream of 20 input and 2 output tokens: 20 x 0.15 + 2 x 0.60 = 4.2 per million = $0.0000042.
    # Together 2,422 tokens and $0.0004842, shown to six places.
    assert any(row.startswith(user) and row.endswith(" 3 2422 $0.000484 0") for row in users), users
    assert any(row.startswith(f"search-{tag} 3 ") for row in users), users
    assert "Spend by model over time" in [c.text for c in browser.find_elements(By.CSS_SELECTOR, "figure.chart figcaption")]
    assert browser.find_elements(By.CSS_SELECTOR, "table.unpriced tbody tr"), "the unpriced model of the overview test"
    assert not browser.find_elements(By.CSS_SELECTOR, "main b, main script")
    assert no_alert(browser)
    shot(browser, "08-costs")


def test_a_streamed_call_shows_its_reply_text_and_an_answer_with_markup_shows_as_text(browser, dashboard, provider, answers):
    tag = uuid.uuid4().hex[:8]
    client = OpenAI(base_url=dashboard.url + "/v1", api_key="sk-test")
    stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"stream please {tag}"}], stream=True)
    stream_id = stream.headers["helicone-id"]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream.parse() if chunk.choices) == "Hello world"
    dashboard.record(stream_id)

    answers[f"xss {tag}"] = json.dumps(chat_completion("gpt-4o-mini", content=XSS)).encode()
    xss = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"xss {tag}"}])
    xss_id = xss.headers["helicone-id"]
    dashboard.record(xss_id)

    sign_in(browser, dashboard)
    browser.get(dashboard.url + f"/dashboard/requests/{stream_id}")
    assert browser.find_element(By.CSS_SELECTOR, "pre.reply-text").text == "Hello world"
    messages = [m.text for m in browser.find_elements(By.CSS_SELECTOR, ".message pre")]
    assert f"stream please {tag}" in messages
    fields = browser.find_element(By.CSS_SELECTOR, "table.fields").text
    assert "Stream yes" in fields and "Time to first token" in fields
    shot(browser, "04-streamed-call")

    browser.get(dashboard.url + f"/dashboard/requests/{xss_id}")
    assert browser.find_element(By.CSS_SELECTOR, "pre.reply-text").text == XSS
    assert no_alert(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "main img"), "the answer's <img> must not become an element"
    assert not browser.find_elements(By.CSS_SELECTOR, "main script")
    shot(browser, "05-answer-with-markup")


def test_a_webhook_created_on_the_page_delivers_and_a_delivery_is_sent_again_from_its_page(browser, dashboard, hook_receiver):
    tag = uuid.uuid4().hex[:8]
    sign_in(browser, dashboard)
    browser.get(dashboard.url + "/dashboard/webhooks")
    browser.find_element(By.NAME, "destination").send_keys(f"{hook_receiver.url}/dash-{tag}")
    browser.find_element(By.NAME, "filters").send_keys(f"run={tag}")
    browser.find_element(By.CSS_SELECTOR, "form.create button").click()
    notice = shown(browser, ".notice").text
    assert f"/dash-{tag}" in notice
    key = browser.find_element(By.CSS_SELECTOR, "code.key").text
    assert len(key) > 20
    shot(browser, "06-webhook-created")

    client = OpenAI(base_url=dashboard.url + "/v1", api_key="sk-test")
    call = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hook me"}],
                                                            extra_headers={"Helicone-Property-Run": tag})
    call_id = call.headers["helicone-id"]
    first = wait_for(lambda: [d for d in hook_receiver.received(path=f"/dash-{tag}")])
    assert json.loads(first[0].body)["request_id"] == call_id

    browser.find_element(By.LINK_TEXT, f"{hook_receiver.url}/dash-{tag}").click()
    shown(browser, "ul.attempts")
    # The receiver has the delivery a moment before its attempt is logged: reload until it shows.
    def logged():
        rows = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
        if len(rows) == 1 and "succeeded" in rows[0].text:
            return rows
        browser.refresh()
        return None
    rows = wait_for(logged)
    assert len(rows) == 1 and call_id in rows[0].text and "succeeded" in rows[0].text
    assert "#1" in rows[0].find_element(By.CSS_SELECTOR, "ul.attempts").text
    rows[0].find_element(By.XPATH, ".//button[text()='Re-send']").click()
    assert "queued to be sent again" in shown(browser, ".notice").text
    again = wait_for(lambda: [d for d in hook_receiver.received(path=f"/dash-{tag}")] if len(hook_receiver.received(path=f"/dash-{tag}")) >= 2 else [])
    assert [json.loads(d.body)["request_id"] for d in again] == [call_id, call_id]
    browser.refresh()  # a plain GET after the redirect: reloading sends nothing again
    wait_for(lambda: "#2" in browser.find_element(By.CSS_SELECTOR, "ul.attempts").text or browser.refresh())
    assert len(hook_receiver.received(path=f"/dash-{tag}")) == 2
    shot(browser, "07-deliveries")


def test_the_live_page_shows_each_call_at_the_top_as_it_arrives_with_its_user_as_text(browser, dashboard, provider):
    tag = uuid.uuid4().hex[:8]
    sign_in(browser, dashboard)
    browser.get(dashboard.url + "/dashboard/live")
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.ID, "live-state").get_attribute("data-state") == "live")
    assert browser.find_element(By.CSS_SELECTOR, "header nav a[aria-current=page]").text == "Live"

    client = OpenAI(base_url=dashboard.url + "/v1", api_key="sk-test")
    stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"live stream {tag}"}], stream=True,
        extra_headers={"Helicone-User-Id": f"bob-{tag}"})
    for _ in stream.parse():
        pass
    client.chat.completions.create(model=f"gpt-9-preview-{tag}", messages=[{"role": "user", "content": "unpriced"}])
    user = f"<img src=x onerror=alert(1)>-{tag}"
    reply = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"live {tag}"}],
        extra_headers={"Helicone-User-Id": user, "Helicone-Property-Feature": f"live-{tag}"})
    call_id = reply.headers["helicone-id"]

    # The row appears without a reload, at the top, once the call is stored.
    row = WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.CSS_SELECTOR, f'#live-rows tr[data-id="{call_id}"]'))[0]
    assert browser.find_element(By.CSS_SELECTOR, "#live-rows tr").get_attribute("data-id") == call_id
    cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
    assert cells[1].startswith("gpt-4o-mini"), cells
    assert cells[3] == "200" and "ok" in row.find_elements(By.TAG_NAME, "td")[3].get_attribute("class").split()
    assert cells[4] == user, "the user id is shown as text"
    assert cells[5] == f"feature=live-{tag}"
    assert row.find_element(By.TAG_NAME, "a").get_attribute("href").endswith(f"/dashboard/requests/{call_id}")
    assert not browser.find_elements(By.CSS_SELECTOR, "main img"), "the user id's <img> must not become an element"
    assert no_alert(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#live-rows tr")) <= 200
    shot(browser, "09-live")

    # The row the script built is the row the server renders for the same call on the Requests page.
    row.find_element(By.TAG_NAME, "a").click()
    assert shown(browser, "table.fields").text.count(user) == 1
    browser.get(dashboard.url + "/dashboard/requests?" + urlencode({"user_id": user}, quote_via=quote))
    served = [cell.text for cell in browser.find_element(By.CSS_SELECTOR, "table tbody tr").find_elements(By.TAG_NAME, "td")]
    assert served == cells

    # The stream needs the session: without it, no events.
    assert httpx.get(dashboard.url + "/dashboard/live/events").status_code == 401


def test_state_changing_forms_refuse_a_post_without_the_sessions_token_and_the_cookie_is_httponly_and_strict(dashboard):
    login = httpx.post(dashboard.url + "/dashboard/login", data={"key": ADMIN_KEY})
    assert login.status_code == 303
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # served over plain http here; set when server.public_url is https
    session = re.match(r"tollgate_session=([^;]+)", cookie).group(1)
    forged = httpx.post(dashboard.url + "/dashboard/webhooks", data={"destination": "https://example.com/x"},
                        cookies={"tollgate_session": session})
    assert forged.status_code == 403
    assert httpx.get(dashboard.url + "/v1/webhooks", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()["data"] is not None
    assert not any(w["destination"] == "https://example.com/x"
                   for w in httpx.get(dashboard.url + "/v1/webhooks", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()["data"])
    # A cookie whose signature was changed opens nothing.
    tampered = session[:-1] + ("0" if session[-1] != "0" else "1")
    page = httpx.get(dashboard.url + "/dashboard/requests", cookies={"tollgate_session": tampered})
    assert page.status_code == 303 and page.headers["location"] == "/dashboard/login"


def wait_for(probe, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")
