/* Keyboard shortcuts for the review page. Everything also works without this file:
   the buttons are ordinary form buttons and the arrows are ordinary links. */
(function () {
  "use strict";

  function typingIn(el) {
    return el && el.closest && el.closest("input, textarea, select");
  }

  function say(text) {
    var live = document.getElementById("live");
    if (live) { live.textContent = text; }
  }

  // A question opens on the work, not on the navigation above it: the highlighted box has the focus when
  // there is one (autofocus), otherwise the question's heading, so a screen reader reads the statement and
  // the next Tab reaches the answer controls.
  document.addEventListener("DOMContentLoaded", function () {
    var start = document.querySelector("[data-focus-start]");
    var active = document.activeElement;
    if (start && (!active || active === document.body) && !window.location.hash) {
      start.focus();
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      var save = document.getElementById("save");
      if (save) { e.preventDefault(); save.click(); }
      return;
    }
    if (e.altKey || e.ctrlKey || e.metaKey || typingIn(e.target)) { return; }

    var choice = document.querySelector('.choice[data-key="' + e.key + '"]');
    if (choice) {
      e.preventDefault();
      choice.focus();
      var label = choice.querySelector(".label");
      say("Picked " + e.key + (label && label.textContent ? " (" + label.textContent + ")" : "") +
          ". Press Enter to save.");
      return;
    }
    var onChoice = e.target && e.target.classList && e.target.classList.contains("choice");
    if (onChoice && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
      var all = Array.prototype.slice.call(document.querySelectorAll(".choice"));
      var i = all.indexOf(e.target) + (e.key === "ArrowDown" ? 1 : -1);
      if (i >= 0 && i < all.length) { e.preventDefault(); all[i].focus(); }
      return;
    }
    var link = null;
    if (e.key === "ArrowLeft") { link = document.getElementById("prev"); }
    if (e.key === "ArrowRight") { link = document.getElementById("next"); }
    if (link) { e.preventDefault(); link.click(); }
  });
})();
