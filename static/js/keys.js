// Keyboard shortcuts for working through a queue. Every one only moves focus or opens a page:
// none decides anything (deciding always takes pressing a form's own button). They never
// fire while typing in a field, nor with Ctrl, Alt or Meta held (the browser's own keys).
//   Queue:  j / k  next / previous row     o or Enter  open it
//           a / r  open it at its Approve / Reject form     x  tick or untick it
//   Detail: a / r  go to the Approve / Reject form          n  next pending    u  back to the queue
//   Anywhere: ?  list the shortcuts (Escape closes the list)
(function () {
  "use strict";

  var SHORTCUTS = [
    ["j / k", "Next / previous approval in the queue"],
    ["o or Enter", "Open the selected approval"],
    ["x", "Tick or untick the selected approval"],
    ["a", "Go to the Approve form (in the queue: open the approval there)"],
    ["r", "Go to the Reject form (in the queue: open the approval there)"],
    ["n", "Next pending approval (on an approval's page)"],
    ["u", "Back to the queue (on an approval's page)"],
    ["?", "Show or hide this list"],
  ];

  function typing(target) {
    if (!(target instanceof Element)) return false;
    return !!target.closest("input, textarea, select, [contenteditable]") ||
      target.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#queue-rows tr[id^='row-']:not([data-leaving])")
    );
  }

  function currentRow() {
    var active = document.activeElement;
    var row = active instanceof Element ? active.closest("#queue-rows tr") : null;
    return row || document.querySelector("#queue-rows tr.current");
  }

  function select(row) {
    document.querySelectorAll("#queue-rows tr.current").forEach(function (other) {
      other.classList.remove("current");
    });
    if (!row) return;
    row.classList.add("current");
    var link = row.querySelector("a[data-row-link]");
    if (link) link.focus();
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
  }

  function open(row, hash) {
    var link = row && row.querySelector("a[data-row-link]");
    if (link) location.assign(link.getAttribute("href") + (hash || ""));
  }

  // On an approval's page: the form's first field (or its button), scrolled into view.
  function goToForm(kind) {
    var form = document.querySelector("form[data-decide='" + kind + "']");
    if (!form) return false;
    var field = form.querySelector("input:not([type=hidden]), select, textarea, button");
    if (field) {
      field.focus();
      field.scrollIntoView({ block: "center" });
    }
    return true;
  }

  function help() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "shortcuts";
      dialog.className = "shortcuts card";
      dialog.setAttribute("aria-labelledby", "shortcuts-heading");
      var heading = document.createElement("h2");
      heading.id = "shortcuts-heading";
      heading.textContent = "Keyboard shortcuts";
      dialog.appendChild(heading);
      var list = document.createElement("dl");
      SHORTCUTS.forEach(function (entry) {
        var key = document.createElement("dt");
        var kbd = document.createElement("kbd");
        kbd.textContent = entry[0];
        key.appendChild(kbd);
        var what = document.createElement("dd");
        what.textContent = entry[1];
        list.appendChild(key);
        list.appendChild(what);
      });
      dialog.appendChild(list);
      var close = document.createElement("button");
      close.type = "button";
      close.className = "secondary small";
      close.textContent = "Close";
      close.addEventListener("click", function () { dialog.close(); });
      dialog.appendChild(close);
      document.body.appendChild(dialog);
    }
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target)) return;
    var onQueue = !!document.getElementById("queue-rows");
    var key = event.key;
    var handled = true;
    if (key === "?") {
      help();
    } else if (onQueue && (key === "j" || key === "k")) {
      move(key === "j" ? 1 : -1);
    } else if (onQueue && key === "o") {
      open(currentRow());
    } else if (onQueue && (key === "a" || key === "r")) {
      open(currentRow(), key === "a" ? "#approve" : "#reject");
    } else if (onQueue && key === "x") {
      var box = currentRow() && currentRow().querySelector('input[name="token_ids"]');
      if (box) box.click();
      else handled = false;
    } else if (!onQueue && (key === "a" || key === "r")) {
      handled = goToForm(key === "a" ? "approve" : "reject");
    } else if (!onQueue && key === "n") {
      var next = document.querySelector("[data-next-pending]");
      if (next) location.assign(next.getAttribute("href"));
      else handled = false;
    } else if (!onQueue && key === "u") {
      var back = document.querySelector("[data-back-to-queue]");
      if (back) location.assign(back.getAttribute("href"));
      else handled = false;
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  });

  // Opened with "a" or "r" from the queue: straight to that form.
  document.addEventListener("DOMContentLoaded", function () {
    if (location.hash === "#approve") goToForm("approve");
    else if (location.hash === "#reject") goToForm("reject");
  });
})();
