// Wenda's ask box. Embed with <div id="wenda"></div> and a script tag whose src is
// this file on the Wenda server ('/widget.js'); the API calls go to that same server.
// Options on the script tag: data-target (CSS selector, default "#wenda"), data-api-key.
// Option on the target element: data-query-param="q" makes the box read the page's URL:
// ?q=<question>[&script=auto|original|zh-Hant|zh-Hans] fills it in and asks at once, and
// each question asked is written back into the URL, so an answer can be linked to.
// All document text is set with textContent, never parsed as HTML.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(".", script && script.src ? script.src : window.location.href).href;
  var target = (script && script.dataset.target) || "#wenda";
  var apiKey = (script && script.dataset.apiKey) || loadKey();

  // Storage can be blocked (sandboxed frames, strict privacy settings): the box still works.
  function loadKey() {
    try { return window.sessionStorage.getItem("wenda-api-key") || ""; } catch (e) { return ""; }
  }

  function saveKey(key) {
    try { window.sessionStorage.setItem("wenda-api-key", key); } catch (e) { /* kept in memory */ }
  }

  var CSS = [
    ".wenda{overflow-wrap:anywhere}",
    ".wenda form{display:flex;gap:.5rem;flex-wrap:wrap}",
    ".wenda input[type=search]{flex:1 1 20rem;min-width:0;font:inherit;padding:.5rem .7rem;border:1px solid #bbb;border-radius:6px}",
    ".wenda button,.wenda select{font:inherit;padding:.5rem .9rem;border-radius:6px;border:1px solid #888;background:#f4f4f6}",
    ".wenda .wenda-status{color:#666;margin:.75rem 0}",
    ".wenda .wenda-error{color:#a00}",
    ".wenda .wenda-answer{font-size:1.1rem;margin:1rem 0;white-space:pre-wrap}",
    ".wenda .wenda-abstain{color:#8a5a00}",
    ".wenda h3{font-size:1rem;margin:1.25rem 0 .5rem}",
    ".wenda ol{padding-left:1.5rem}",
    ".wenda li{margin-bottom:.75rem}",
    ".wenda .wenda-where{color:#555;font-size:.9rem}",
    ".wenda summary{cursor:pointer}",
    ".wenda blockquote{margin:.3rem 0;padding:.3rem .7rem;border-left:3px solid #4a7;background:#f6faf7;white-space:pre-wrap}",
    ".wenda blockquote.wenda-converted{border-left-style:dashed}",
    ".wenda details{margin:.4rem 0}",
    ".wenda .wenda-passage{white-space:pre-wrap;font-size:.92rem;color:#333}"
  ].join("\n");

  var OPTIONS = [["auto", "auto"], ["original", "original 原文"], ["zh-Hant", "繁體"], ["zh-Hans", "简体"]];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function where(item) {
    var parts = [item.title || item.doc_id];
    if (item.section) parts.push(item.section);
    if (item.page !== null && item.page !== undefined) parts.push("p. " + item.page);
    if (item.line_start !== null && item.line_start !== undefined) {
      parts.push(item.line_start === item.line_end ? "line " + item.line_start
                                                   : "lines " + item.line_start + "–" + item.line_end);
    }
    return parts.join(" · ");
  }

  function render(out, data) {
    out.replaceChildren();
    out.appendChild(el("div", "wenda-answer" + (data.answerable ? "" : " wenda-abstain"), data.answer));
    if (data.citations && data.citations.length) {
      out.appendChild(el("h3", "", "Sources 出處"));
      var list = el("ol");
      data.citations.forEach(function (c) {
        var li = el("li");
        li.value = c.n;
        li.appendChild(el("div", "wenda-where", where(c)));
        li.appendChild(el("blockquote", "", c.quote));
        if (c.quote_converted) {
          var converted = el("blockquote", "wenda-converted", c.quote_converted);
          converted.title = "converted to " + data.reply_script + " 已轉換字體";
          li.appendChild(converted);
        }
        list.appendChild(li);
      });
      out.appendChild(list);
    }
    if (data.passages && data.passages.length) {
      out.appendChild(el("h3", "", "Retrieved passages 檢索段落"));
      data.passages.forEach(function (p) {
        var box = el("details");
        box.appendChild(el("summary", "wenda-where", where(p) + " · score " + Number(p.score).toFixed(4)));
        box.appendChild(el("div", "wenda-passage", p.clean || p.text));
        out.appendChild(box);
      });
    }
  }

  // The API answers errors as {"error": {"code": ..., "message": ...}}; anything else (a proxy's
  // HTML page, an empty body) is reported by its HTTP status.
  function errorMessage(data, response) {
    var error = data && data.error;
    var message = error && typeof error === "object" ? error.message : error;
    if (typeof message === "string" && message) {
      return error.code ? message + " (" + error.code + ")" : message;
    }
    return "HTTP " + response.status + (response.statusText ? " " + response.statusText : "");
  }

  function showError(status, message) {
    status.className = "wenda-status wenda-error";
    status.textContent = message;
  }

  function ask(question, replyScript, status, out) {
    var headers = {"Content-Type": "application/json"};
    if (apiKey) headers["X-API-Key"] = apiKey;
    status.className = "wenda-status";
    status.textContent = "…";
    out.replaceChildren();
    return fetch(base + "v1/ask", {
      method: "POST", headers: headers,
      body: JSON.stringify({question: question, reply_script: replyScript})
    }).catch(function () {
      // A browser tells a page nothing about why a request failed: a server down and a
      // server refusing this page's origin (CORS) look the same, so both are named.
      var server = new URL(base).origin;
      if (server !== window.location.origin) {
        throw new Error("the Wenda server at " + server + " did not answer this page (" +
                        window.location.origin + "): add this origin to WENDA_CORS_ORIGINS " +
                        "on the server, or check that the server is running 無法連線：請在伺服器" +
                        "設定 WENDA_CORS_ORIGINS");
      }
      throw new Error("cannot reach the Wenda server at " + server + " 無法連線至伺服器");
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && script && script.dataset.apiKey &&
            apiKey === script.dataset.apiKey) {
          throw new Error("the API key set on the widget's script tag (data-api-key) was " +
                          "refused: " + errorMessage(data, response) + " 金鑰無效");
        }
        if (response.status === 401) {
          var key = window.prompt("API key");
          if (key) {
            apiKey = key;
            saveKey(key);
            return ask(question, replyScript, status, out);
          }
        }
        if (!response.ok) throw new Error(errorMessage(data, response));
        if (!data || typeof data.answer !== "string") {
          throw new Error("unexpected reply from the server (HTTP " + response.status + ")");
        }
        status.textContent = "";
        render(out, data);
      });
    }).catch(function (error) {
      showError(status, error.message);
    });
  }

  function mount(root) {
    root.classList.add("wenda");
    var form = el("form");
    var input = el("input");
    input.type = "search";
    input.placeholder = "商湯2023年的總收入是多少？ / What was SenseTime's revenue in 2023?";
    input.setAttribute("aria-label", "Question");
    var select = el("select");
    select.setAttribute("aria-label", "Reply script");
    OPTIONS.forEach(function (pair) {
      var option = el("option", "", pair[1]);
      option.value = pair[0];
      select.appendChild(option);
    });
    var button = el("button", "", "Ask 提問");
    button.type = "submit";
    form.append(input, select, button);
    var status = el("div", "wenda-status");
    status.setAttribute("role", "status");
    var out = el("div");
    var param = root.dataset.queryParam;
    function submit() {
      var question = input.value.trim();
      if (!question) {
        out.replaceChildren();
        showError(status, "Please type a question. 請輸入問題。");
        input.focus();
        return;
      }
      if (param) remember(param, question, select.value);
      button.disabled = true;
      ask(question, select.value, status, out).finally(function () { button.disabled = false; });
    }
    // Not `required`: a blank question gets the same visible message as one of only spaces.
    form.noValidate = true;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit();
    });
    root.append(form, status, out);
    if (param) {
      var query = new URLSearchParams(window.location.search);
      var scriptChoice = query.get("script");
      if (scriptChoice && OPTIONS.some(function (pair) { return pair[0] === scriptChoice; })) {
        select.value = scriptChoice;
      }
      if ((query.get(param) || "").trim()) {
        input.value = query.get(param);
        submit();
      }
    }
  }

  // Put the question into the page's URL (without reloading) so the answer can be linked to.
  function remember(param, question, replyScript) {
    try {
      var url = new URL(window.location.href);
      url.searchParams.set(param, question);
      if (replyScript === "auto") url.searchParams.delete("script");
      else url.searchParams.set("script", replyScript);
      window.history.replaceState(null, "", url.href);
    } catch (e) { /* e.g. a sandboxed frame: asking still works */ }
  }

  function start() {
    var style = el("style", "", CSS);
    document.head.appendChild(style);
    document.querySelectorAll(target).forEach(mount);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
