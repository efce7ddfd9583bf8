// Where the reviewer is, and what they typed, survive moving around.
// - Filter forms (data-filter-form) push one clean history entry per real change: empty
//   fields are dropped from the request, a request that would show what the address already
//   says is not sent, and a push of the current address replaces it instead. Back then
//   reloads the address (base.html turns htmx's history snapshots off), so the results and
//   the filter controls always agree with it.
// - When a signed-out reviewer's htmx request is sent to sign in (HX-Redirect, see
//   approvals/auth/htmx_login.py), what they typed in the decision panel is kept in
//   sessionStorage for that page and put back when they return to it, once.
// Every page works without this file. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";

  // --- Filter addresses ----------------------------------------------------------------------

  function nonEmptyPairs(entries) {
    var pairs = [];
    entries.forEach(function (value, name) {
      if (value !== "") pairs.push([name, String(value)]);
    });
    return pairs;
  }

  // The same filters in any order: a=1&b=2 is where b=2&a=1 is.
  function key(pairs) {
    return pairs.map(function (pair) { return pair[0] + "=" + pair[1]; }).sort().join("&");
  }

  function showsAlready(pathname, pairs) {
    return pathname === location.pathname &&
      key(pairs) === key(nonEmptyPairs(new URLSearchParams(location.search)));
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    var form = detail.elt;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-filter-form")) return;
    if (String(detail.verb).toLowerCase() !== "get") return;
    var formData = detail.formData;
    var pairs = nonEmptyPairs(formData);
    var names = [];
    formData.forEach(function (value, name) { if (names.indexOf(name) < 0) names.push(name); });
    names.forEach(function (name) { formData.delete(name); });
    pairs.forEach(function (pair) { formData.append(pair[0], pair[1]); });
    // Typing fires "input" and then "change" on leaving the box: the second asks for what is
    // already shown. An explicit submit still refreshes (and replaces, not pushes, below).
    var trigger = detail.triggeringEvent;
    var pathname = new URL(detail.path, location.href).pathname;
    if ((!trigger || trigger.type !== "submit") && showsAlready(pathname, pairs)) {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var update = event.detail && event.detail.history;
    if (!update || update.type !== "push" || !update.path) return;
    var url = new URL(update.path, location.href);
    if (url.origin !== location.origin) return;
    var pairs = nonEmptyPairs(url.searchParams);
    var query = new URLSearchParams(pairs).toString();
    update.path = url.pathname + (query ? "?" + query : "") + url.hash;
    if (showsAlready(url.pathname, pairs)) update.type = "replace";
  });

  // --- Typed text across signing in again ----------------------------------------------------

  var UNSAVED = "unsaved-fields:";
  var UNSAVED_FOR_MS = 60 * 60 * 1000; // text older than this is not put back
  var SKIPPED_TYPES = /^(hidden|submit|button|reset|image|file|password)$/;

  function panelFields() {
    var panel = document.getElementById("decision-panel");
    if (!panel) return [];
    return Array.prototype.filter.call(
      panel.querySelectorAll("input, textarea, select"),
      function (field) { return field.name && field.form && !SKIPPED_TYPES.test(field.type); }
    );
  }

  function fieldKey(field) {
    var key = (field.form.getAttribute("action") || "") + " " + field.name;
    return field.type === "checkbox" || field.type === "radio" ? key + " " + field.value : key;
  }

  function current(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked;
    return field.value;
  }

  function initial(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.defaultChecked;
    if (field.tagName === "SELECT") {
      var chosen = Array.prototype.filter.call(field.options, function (o) { return o.defaultSelected; });
      return chosen.length ? chosen[0].value : (field.options.length ? field.options[0].value : "");
    }
    return field.defaultValue;
  }

  // Who is signed in on this page: a draft goes back only to the person who typed it (another
  // may sign in on the same tab; their text is theirs).
  function signedIn() {
    var meta = document.querySelector('meta[name="approvals-user"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function keepUnsaved() {
    var values = {};
    var any = false;
    panelFields().forEach(function (field) {
      if (current(field) === initial(field)) return; // only what the reviewer changed
      values[fieldKey(field)] = current(field);
      any = true;
    });
    if (!any) return;
    try {
      sessionStorage.setItem(UNSAVED + location.pathname, JSON.stringify({ at: Date.now(), who: signedIn(), values: values }));
    } catch (e) { /* storage full or off: nothing more to do */ }
  }

  function putBackUnsaved() {
    var name = UNSAVED + location.pathname;
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(name) || "null");
      sessionStorage.removeItem(name);
    } catch (e) { return; }
    if (!saved || !saved.values || Date.now() - saved.at > UNSAVED_FOR_MS) return;
    if (!saved.who || saved.who !== signedIn()) return; // typed by someone else

    panelFields().forEach(function (field) {
      var k = fieldKey(field);
      if (!Object.prototype.hasOwnProperty.call(saved.values, k)) return;
      if (field.type === "checkbox" || field.type === "radio") field.checked = !!saved.values[k];
      else field.value = String(saved.values[k]);
    });
  }

  // htmx is about to leave the page for the address in HX-Redirect (sign in, then back here).
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Redirect")) keepUnsaved();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", putBackUnsaved);
  else putBackUnsaved();
})();
