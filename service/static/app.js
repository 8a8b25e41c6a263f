// Wenda's page: a conversation (kept in this browser, follow-ups read with the questions
// before them), every citation opened in its document's context, and the documents panel
// (list, upload by picking or dropping files, delete; each change is a build job whose
// progress is shown). All document text is set with textContent, never parsed as HTML.
(function () {
  "use strict";
  var STORE = "wenda-conversation-v1";
  var HISTORY = 4; // earlier questions sent with a follow-up
  var CONTEXT = 700; // characters shown around a quote
  var apiKey = loadKey();

  function loadKey() {
    try { return window.sessionStorage.getItem("wenda-api-key") || ""; } catch (e) { return ""; }
  }
  function saveKey(key) {
    try { window.sessionStorage.setItem("wenda-api-key", key); } catch (e) { /* memory only */ }
  }
  function loadTurns() {
    try { return JSON.parse(window.localStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }
  function saveTurns(turns) {
    try { window.localStorage.setItem(STORE, JSON.stringify(turns)); } catch (e) { /* full */ }
  }
  function $(selector) { return document.querySelector(selector); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // One request helper: the key when there is one, a prompt for it on 401, and the API's
  // error shape ({"error": {"code", "message"}}) turned into a message that says what is
  // wrong (a CORS refusal or a network failure is no HTTP status).
  function api(method, path, body, retried) {
    var headers = {};
    if (apiKey) headers["X-API-Key"] = apiKey;
    var options = {method: method, headers: headers};
    if (body instanceof FormData) options.body = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).catch(function () {
      throw new Error("cannot reach the Wenda server (network down, or the page is served " +
                      "from another origin the server does not allow) 無法連線至伺服器");
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && !retried) {
          var key = window.prompt("API key 金鑰");
          if (key) { apiKey = key; saveKey(key); return api(method, path, body, true); }
        }
        if (!response.ok) {
          var error = data && data.error;
          throw new Error(error && error.message ? error.message + " (" + error.code + ")"
                                                 : "HTTP " + response.status);
        }
        return data;
      });
    });
  }

  function where(c) {
    var parts = [c.title_display || c.title || c.doc_id];
    if (c.section_converted || c.section) parts.push(c.section_converted || c.section);
    if (c.page !== null && c.page !== undefined) {
      parts.push(c.page_end ? "pp. " + c.page + "–" + c.page_end : "p. " + c.page);
    } else if (c.section_page) {
      parts.push("section from p. " + c.section_page);
    }
    parts.push(c.line_start === c.line_end ? "line " + c.line_start
                                           : "lines " + c.line_start + "–" + c.line_end);
    return parts.join(" · ");
  }

  // ---- the conversation ------------------------------------------------------------

  var turns = loadTurns();

  function renderTurn(turn) {
    var box = el("article", "turn");
    box.appendChild(el("div", "question", turn.question));
    var data = turn.answer;
    if (!data) {
      box.appendChild(el("div", "answer error", turn.error || "…"));
      return box;
    }
    box.appendChild(el("div", "answer" + (data.answerable ? "" : " abstain"), data.answer));
    if (data.inherited && data.inherited.length) {
      box.appendChild(el("div", "inherited", "read with the earlier question: " +
                         data.inherited.join(", ")));
    }
    if (data.citations && data.citations.length) {
      var list = el("ol", "citations");
      data.citations.forEach(function (c) {
        var item = el("li", "citation");
        item.value = c.n;
        item.appendChild(el("div", "where", where(c)));
        item.appendChild(el("blockquote", "", c.display || c.quote));
        if (c.display_converted) item.appendChild(el("blockquote", "converted",
                                                     c.display_converted));
        var open = el("button", "open", "Open in context 查看原文");
        open.type = "button";
        open.addEventListener("click", function () { openContext(c); });
        item.appendChild(open);
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    box.appendChild(ratingBar(turn));
    return box;
  }

  // Thumbs up or down, stored by the server with the question and the quotes it cited
  // (`wenda eval export-feedback` turns them into question lines to check).
  function ratingBar(turn) {
    var bar = el("div", "rating");
    if (turn.rated) {
      bar.appendChild(el("span", "rated", turn.rated === "up" ? "👍 thanks 謝謝" :
                         "👎 noted: it will be checked 已記錄"));
      return bar;
    }
    [["up", "👍", "helpful 有用"], ["down", "👎", "wrong or missing 有誤"]].forEach(function (r) {
      var button = el("button", "rate-" + r[0], r[1]);
      button.type = "button";
      button.title = r[2];
      button.setAttribute("aria-label", r[2]);
      button.addEventListener("click", function () {
        var cited = (turn.answer.citations || []).map(function (c) {
          return {doc_id: c.doc_id, char_start: c.char_start, char_end: c.char_end};
        });
        api("POST", "/v1/feedback", {rating: r[0], question: turn.question,
                                     history: turn.history || [], answer: turn.answer.answer,
                                     citations: cited})
          .then(function () {
            turn.rated = r[0];
            saveTurns(turns);
            renderConversation();
          })
          .catch(function (error) { bar.appendChild(el("span", "error", error.message)); });
      });
      bar.appendChild(button);
    });
    return bar;
  }

  function renderConversation() {
    var log = $("#conversation");
    log.replaceChildren();
    turns.forEach(function (turn) { log.appendChild(renderTurn(turn)); });
    $("#new-conversation").disabled = !turns.length;
  }

  function ask(question) {
    var history = turns.filter(function (t) { return t.answer; })
      .map(function (t) { return t.question; }).slice(-HISTORY);
    var turn = {question: question, history: history, answer: null};
    turns.push(turn);
    renderConversation();
    return api("POST", "/v1/ask", {question: question, history: history,
                                   reply_script: $("#reply-script").value})
      .then(function (data) { turn.answer = data; })
      .catch(function (error) { turn.error = error.message; })
      .then(function () {
        saveTurns(turns.filter(function (t) { return t.answer; }));
        renderConversation();
        var last = $("#conversation").lastElementChild;
        if (last) last.scrollIntoView({block: "nearest"});
      });
  }

  // A citation opened where it stands: the document's text around the quote, the quote
  // marked, its location, and the converted rendering beside it.
  function openContext(c) {
    var panel = $("#context");
    panel.hidden = false;
    panel.replaceChildren(el("div", "where", where(c)), el("div", "status", "…"));
    api("GET", "/v1/documents/" + encodeURIComponent(c.doc_id)).then(function (doc) {
      var start = Math.max(0, c.char_start - CONTEXT);
      var end = Math.min(doc.chars, c.char_end + CONTEXT);
      return api("GET", "/v1/documents/" + encodeURIComponent(c.doc_id) + "?start=" + start +
                 "&end=" + end).then(function (found) {
        var text = found.span.text;
        var passage = el("pre", "passage");
        passage.append(text.slice(0, c.char_start - start));
        passage.appendChild(el("mark", "", text.slice(c.char_start - start, c.char_end - start)));
        passage.append(text.slice(c.char_end - start));
        var close = el("button", "close", "Close 關閉");
        close.type = "button";
        close.addEventListener("click", function () { panel.hidden = true; });
        var parts = [el("div", "where", where(c) + " · " + doc.source), passage];
        if (c.display_converted) parts.push(el("blockquote", "converted", c.display_converted));
        panel.replaceChildren.apply(panel, parts.concat([close]));
        var mark = panel.querySelector("mark");
        if (mark) mark.scrollIntoView({block: "center"});
      });
    }).catch(function (error) {
      panel.replaceChildren(el("div", "error", error.message));
    });
  }

  // ---- the documents panel ---------------------------------------------------------

  function refreshDocuments() {
    return api("GET", "/v1/documents").then(function (data) {
      var list = $("#documents");
      list.replaceChildren();
      data.documents.forEach(function (d) {
        var item = el("li", "document");
        item.dataset.docId = d.doc_id;
        item.appendChild(el("span", "title", d.title));
        item.appendChild(el("span", "meta", d.doc_id + " · " + (d.company || "—") + " · " +
                            d.script + " · " + d.chars.toLocaleString() + " characters"));
        var remove = el("button", "delete", "Delete 刪除");
        remove.type = "button";
        remove.addEventListener("click", function () {
          if (window.confirm("Delete " + d.title + "? 確定刪除？")) {
            follow(api("DELETE", "/v1/documents/" + encodeURIComponent(d.doc_id)));
          }
        });
        item.appendChild(remove);
        list.appendChild(item);
      });
    }).catch(function (error) { jobStatus(error.message, true); });
  }

  function jobStatus(text, failed) {
    var status = $("#job-status");
    status.textContent = text;
    status.className = failed ? "error" : "";
  }

  // A document job, from its acceptance until the service serves its build.
  function follow(request) {
    jobStatus("sending… 上傳中");
    return request.then(function poll(job) {
      var files = job.files.map(function (f) {
        return f.name + ": " + f.status + (f.error ? " (" + f.error + ")" : "");
      }).join("; ");
      var progress = job.stage ? " · " + job.stage + (job.total ? " " + job.done + "/" +
                                                      job.total : "") : "";
      jobStatus("job " + job.state + progress + " · " + files, job.state === "failed");
      if (job.state === "queued" || job.state === "running") {
        return new Promise(function (resolve) { window.setTimeout(resolve, 400); })
          .then(function () { return api("GET", job.status_url); }).then(poll);
      }
      if (job.state === "failed") jobStatus("job failed: " + job.error + " · " + files, true);
      return refreshDocuments();
    }).catch(function (error) { jobStatus(error.message, true); });
  }

  function upload(files) {
    if (!files || !files.length) return;
    var form = new FormData();
    Array.prototype.forEach.call(files, function (file) { form.append("files", file); });
    // what the files are about, where the reader says; else the server reads their covers
    var company = $("#upload-company").value.trim();
    var year = $("#upload-year").value.trim();
    if (company) form.append("company", company);
    if (year) form.append("year", year);
    follow(api("POST", "/v1/documents", form));
  }

  function start() {
    renderConversation();
    $("#ask-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = $("#question");
      var question = input.value.trim();
      if (!question) { input.focus(); return; }
      input.value = "";
      $("#ask").disabled = true;
      ask(question).then(function () { $("#ask").disabled = false; input.focus(); });
    });
    $("#new-conversation").addEventListener("click", function () {
      turns = [];
      saveTurns(turns);
      renderConversation();
      $("#context").hidden = true;
    });
    $("#upload").addEventListener("change", function (event) { upload(event.target.files); });
    var drop = $("#drop");
    drop.addEventListener("dragover", function (event) {
      event.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      drop.classList.remove("over");
      upload(event.dataTransfer.files);
    });
    refreshDocuments();
    // /?q=<question> links straight to an answer (a new conversation with that question)
    var linked = new URLSearchParams(window.location.search).get("q");
    if (linked && linked.trim()) {
      turns = [];
      ask(linked.trim());
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
