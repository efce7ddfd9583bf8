// Small progressive enhancements; every page works without this file.
// No inline script anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  function span(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    if (seconds < 60) return "less than a minute";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) return minutes ? hours + " h " + minutes + " min" : hours + " h";
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + " d " + hours + " h" : days + " d";
  }

  // Keep "in 14 min" countdowns current between page loads (same wording as the server).
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var seconds = (at - now) / 1000;
      el.textContent = seconds > 0 ? "in " + span(seconds) : "expired " + span(seconds) + " ago";
      el.classList.toggle("soon", seconds > 0 && seconds < 3600);
      el.classList.toggle("expired", seconds <= 0);
      var row = el.closest("tr");
      if (row) {
        row.classList.toggle("soon", seconds > 0 && seconds < 3600);
        row.classList.toggle("expired", seconds <= 0);
      }
      if (seconds <= 0 && el.hasAttribute("data-live-expiry")) {
        closeExpiredForms();
        if (!expiryRefreshed) {
          expiryRefreshed = true; // the server now renders the panel without its forms
          send("refresh");
        }
      }
    });
  }

  // The deadline passed with the page open: the forms go at once, whether or not the socket
  // is there to bring the server's panel (a late submit would only be refused).
  function closeExpiredForms() {
    var panel = document.getElementById("decision-panel");
    if (!panel || panel.hasAttribute("data-expired")) return;
    var forms = panel.querySelectorAll("form.decide");
    if (!forms.length) return;
    panel.setAttribute("data-expired", "");
    forms.forEach(function (form) { form.remove(); });
    var note = panel.querySelector("[data-expiry-note]");
    var text = "This approval expired; it can no longer be decided. The run continues with a timeout.";
    if (note) {
      note.className = "closed";
      note.textContent = text;
    }
    announce(text);
  }

  // Outcomes are read out from one region that is never swapped (base.html).
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  // "Select all" in the queue's header ticks every row of the current page.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-select-all")) return;
    var form = box.closest("form");
    if (!form) return;
    form.querySelectorAll('input[name="token_ids"]').forEach(function (row) {
      row.checked = box.checked;
    });
    countSelected();
  });

  // "3 selected" beside the bulk buttons.
  function countSelected() {
    var label = document.querySelector("[data-selected-count]");
    if (!label) return;
    var ticked = document.querySelectorAll('#queue-results input[name="token_ids"]:checked').length;
    label.textContent = ticked + " selected";
    label.hidden = false; // the page hides it: without this file it would never change
  }
  document.addEventListener("DOMContentLoaded", countSelected);
  document.addEventListener("htmx:afterSettle", countSelected);
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.name === "token_ids") countSelected();
  });

  // Ids copy with one click (the buttons stay hidden without JavaScript).
  function showCopyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element && event.target.closest("button[data-copy]");
    if (!button) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy") || "").then(function () {
      var label = button.firstChild;
      if (label) label.textContent = "Copied";
      announce("Copied to the clipboard");
      setTimeout(function () { if (label) label.textContent = "Copy"; }, 1500);
    });
  });
  document.addEventListener("DOMContentLoaded", showCopyButtons);
  document.addEventListener("htmx:afterSettle", showCopyButtons);


  // --- Live updates (docs/live-updates.md) ---------------------------------------------------
  // htmx's websocket extension swaps what the server pushes (the pages' own partials, out of
  // band). This part only keeps what the reviewer is doing intact around those swaps, tells
  // the socket what the page shows, and says whether the page is live.
  var INSERT_MARK = "<!--live:insert-->";
  var socket = null; // the extension's wrapper, once open
  var opened = false;
  var held = 0; // new rows held back while the reviewer is busy
  var pointerInTable = false;
  var expiryRefreshed = false;
  var deciding = 0; // the reviewer's own decision requests in flight
  var refreshAfterDeciding = false;
  var focusResults = false;

  function liveKind() {
    var elt = document.querySelector("[data-live]");
    return elt ? elt.getAttribute("data-live") : null;
  }

  function setStatus(text, state) {
    var status = document.getElementById("live-status");
    if (!status) return;
    status.hidden = false;
    status.textContent = text;
    status.setAttribute("data-state", state);
  }

  function send(type) {
    if (!socket) return;
    var command = { type: type, query: location.search };
    var rows = document.getElementById("queue-rows");
    if (type === "watch" && rows) {
      // Exactly the rows on the page (a held insert is not), so later pushes land.
      command.rows = Array.prototype.map.call(
        rows.querySelectorAll("tr[id^='row-']:not([data-leaving])"),
        function (row) { return Number(row.id.slice(4)); }
      );
    }
    socket.send(JSON.stringify(command));
  }

  // Busy: rows ticked, typing, or the pointer on the table. New rows then wait behind
  // "Show N new" so that nothing moves under the reviewer.
  function busy() {
    if (document.querySelector('#queue-results input[name="token_ids"]:checked')) return true;
    if (document.querySelector("#queue-results[data-confirming]")) return true; // mid-confirmation
    var active = document.activeElement;
    if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active.type !== "checkbox") return true;
    return pointerInTable;
  }

  function showHeld() {
    var notice = document.getElementById("live-notice");
    if (!notice) return;
    notice.hidden = held === 0;
    var count = notice.querySelector("[data-live-new-count]");
    if (count) count.textContent = String(held);
  }

  // What a swap would lose: ticked rows, typed text, focus. Restored after the message.
  function snapshot() {
    var saved = { ticked: {}, values: [], focus: null };
    document.querySelectorAll('input[name="token_ids"]:checked').forEach(function (box) {
      saved.ticked[box.value] = true;
    });
    document.querySelectorAll("form textarea, form input[type=text], form input[type=number], form select").forEach(function (field) {
      if (!field.name || !field.form || field.form.closest(".filters")) return;
      saved.values.push({ action: field.form.getAttribute("action"), name: field.name, value: field.value });
    });
    var active = document.activeElement;
    if (active && active.id) saved.focus = { id: active.id, start: active.selectionStart, end: active.selectionEnd };
    // Focus on something without an id in the decision panel (the outcome after deciding, a
    // button): the push replaces it, and the keyboard must not fall back to the top of the page.
    saved.inPanel = !!(active && !active.id && active.closest && active.closest("#decision-panel"));
    // The outcome of the reviewer's own request ("Approved: Trigger.dev has resumed the
    // run", or "already decided by … : what you sent was not recorded" when another
    // reviewer won the race) comes only in the answer to it: pushes must not wipe it. It is
    // kept while the panel still shows the same decision and votes; a state that moved on
    // (a decision or vote since) lets it go.
    var panel = document.getElementById("decision-panel");
    var outcome = panel && panel.querySelector(".outcome");
    saved.outcome = outcome ? outcome.cloneNode(true) : null;
    saved.panelState = panel ? panel.getAttribute("data-state") : null;
    return saved;
  }

  function restore(saved) {
    document.querySelectorAll('input[name="token_ids"]').forEach(function (box) {
      if (saved.ticked[box.value]) box.checked = true;
    });
    saved.values.forEach(function (entry) {
      document.querySelectorAll("form").forEach(function (form) {
        if (form.getAttribute("action") !== entry.action) return;
        var field = form.elements.namedItem(entry.name);
        if (field && "value" in field && field.value !== entry.value && !field.defaultValue) field.value = entry.value;
      });
    });
    var panel = document.getElementById("decision-panel");
    if (saved.outcome && panel && !panel.querySelector(".outcome") &&
        panel.getAttribute("data-state") === saved.panelState) {
      var heading = panel.querySelector("h2");
      if (heading) heading.insertAdjacentElement("afterend", saved.outcome);
    }
    var lost = !document.activeElement || document.activeElement === document.body;
    if (saved.inPanel && lost && panel) {
      var spot = panel.querySelector("[data-outcome]") || panel;
      if (!/^(INPUT|TEXTAREA|SELECT|BUTTON|A)$/.test(spot.tagName)) spot.setAttribute("tabindex", "-1");
      spot.focus({ preventScroll: true });
    }
    if (saved.focus && document.activeElement !== document.getElementById(saved.focus.id)) {
      var elt = document.getElementById(saved.focus.id);
      if (elt) {
        elt.focus();
        try { elt.setSelectionRange(saved.focus.start, saved.focus.end); } catch (e) { /* not text */ }
      }
    }
  }

  // A held push still carries the right count: take just that part, as the server wrote it.
  function takeCount(message) {
    var parsed = document.createElement("template"); // inert: nothing in it runs or loads
    parsed.innerHTML = message;
    var fresh = parsed.content.querySelector("#queue-count");
    var current = document.getElementById("queue-count");
    if (!fresh || !current || fresh.closest("#queue-results")) return;
    fresh.removeAttribute("hx-swap-oob");
    current.replaceWith(fresh);
    updateTitle();
  }

  function updateTitle() {
    var count = document.getElementById("queue-count");
    var live = document.querySelector('[data-live="queue"]');
    if (!count || !live) return;
    document.title = "(" + count.getAttribute("data-pending") + ") " + live.getAttribute("data-title") + " · Trigger.dev approvals";
  }

  // A row that left ("approved by X just now") goes after a few seconds, once the pointer is
  // off the table, so the rows below never move under it.
  function sweepLeaving() {
    var now = Date.now();
    document.querySelectorAll("tr[data-leaving]").forEach(function (row) {
      var at = Number(row.getAttribute("data-leave-at") || 0);
      if (!at) {
        row.setAttribute("data-leave-at", String(now + 6000));
      } else if (now >= at && !pointerInTable) {
        row.remove();
        var rows = document.getElementById("queue-rows");
        // The last row has gone: ask for what a reload would show (the empty state).
        if (rows && !rows.querySelector("tr")) send("refresh");
      }
    });
  }

  var saved = null;
  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    setStatus("Live", "live");
    opened = true;
    held = 0;
    showHeld();
    // Every (re)connection asks for the live parts as they are now: whatever happened
    // while the socket was down (or before it first opened) is then on the page.
    send("refresh");
  });
  document.addEventListener("htmx:wsClose", function (event) {
    socket = null;
    var code = event.detail.event && event.detail.event.code;
    if (code === 4401) {
      setStatus("Signed out: reload to sign in", "off");
      announce("You have been signed out: reload the page to sign in again.");
    }
    else if (code === 4404) setStatus("Not live", "off");
    else setStatus("Reconnecting…", "reconnecting");
  });
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var message = String(event.detail.message || "");
    if (deciding > 0) {
      // The reviewer's own decision is on its way: its answer (the outcome) goes into the
      // panel, which a push now would replace under it. Ask again once it has landed.
      event.preventDefault();
      refreshAfterDeciding = true;
      return;
    }
    if (message.indexOf(INSERT_MARK) === 0 && liveKind() === "queue" && busy()) {
      event.preventDefault();
      held += 1;
      showHeld();
      takeCount(message);
      send("watch");
      return;
    }
    saved = snapshot();
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (saved) restore(saved);
    saved = null;
    if (focusResults) {
      focusResults = false;
      var first = document.querySelector("#queue-rows tr.fresh a, #queue-results");
      if (first) {
        if (!first.hasAttribute("href")) first.setAttribute("tabindex", "-1");
        first.focus();
      }
    }
    updateTitle();
    sweepLeaving();
    tick();
    showCopyButtons();
    countSelected();
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || !target.closest("[data-live-show-new]")) return;
    held = 0;
    focusResults = true; // the button hides itself: keep the keyboard in the results
    showHeld();
    send("refresh");
  });
  function inPanel(event) {
    var elt = event.detail && event.detail.elt;
    return elt instanceof Element && !!elt.closest("#decision-panel");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!inPanel(event) || !event.detail.xhr) return;
    deciding += 1;
    // "loadend" comes after htmx has swapped the answer in (or after an error or abort); the
    // form that sent it may be gone by then, so its own htmx events cannot be relied on.
    event.detail.xhr.addEventListener("loadend", function () {
      deciding = Math.max(0, deciding - 1);
      if (deciding === 0 && refreshAfterDeciding) {
        refreshAfterDeciding = false;
        send("refresh");
      }
    });
  });
  // After the reviewer's own decision the panel is new: the keyboard goes to the first field
  // that needs attention, else to the outcome, not back to the top of the page.
  // The bulk action's answer (its confirmation, report or errors) gets the keyboard the same
  // way. The outcome is read out from the one persistent status region.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || (target.id !== "decision-panel" && target.id !== "queue-results")) return;
    var area = document.getElementById(target.id);
    if (!area) return;
    var outcome = area.querySelector("[data-outcome]");
    var spot = area.querySelector("[aria-invalid='true']") || outcome;
    if (!spot && target.id === "decision-panel") spot = area;
    if (outcome) announce(outcome.textContent.replace(/\s+/g, " ").trim());
    countSelected();
    if (!spot) return;
    if (!/^(INPUT|TEXTAREA|SELECT)$/.test(spot.tagName)) spot.setAttribute("tabindex", "-1");
    spot.focus();
  });
  // The queue fetched itself (filters, pages, a bulk action): tell the socket what it shows.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "queue-results" && !event.detail.elt.closest("[data-live]")) {
      setTimeout(function () { send("watch"); }, 0);
    }
    updateTitle();
  });
  document.addEventListener("mouseover", function (event) {
    pointerInTable = event.target instanceof Element && !!event.target.closest("table.queue");
  });
  document.addEventListener("mouseleave", function () { pointerInTable = false; });
  setInterval(sweepLeaving, 1000);

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 1000);
})();
