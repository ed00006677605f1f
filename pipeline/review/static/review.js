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

  // One navigation for every page.  On a narrow screen (a phone, a zoomed window) it folds behind a Menu
  // button, so the work starts near the top of the screen; the button says whether it is open (aria-expanded),
  // Escape closes it and gives the focus back to the button.  Wide screens always show it open.
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("menu-button");
    var menu = document.getElementById("site-menu");
    if (!button || !menu || !window.matchMedia) { return; }
    var narrow = window.matchMedia("(max-width: 40rem)");
    function show(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.hidden = !open;
    }
    function fit() {
      button.hidden = !narrow.matches;
      show(!narrow.matches);
    }
    button.addEventListener("click", function () { show(button.getAttribute("aria-expanded") !== "true"); });
    menu.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && narrow.matches) { show(false); button.focus(); }
    });
    if (narrow.addEventListener) { narrow.addEventListener("change", fit); }
    fit();
  });

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
