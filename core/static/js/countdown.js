/* Keeps a call's countdown right while the page stays open (the server already wrote it).
   The element carries the deadline instant, the deadline's day in Warsaw, and the
   translated plural forms by CLDR category ({n} is the number of days). */
(function () {
  "use strict";
  var el = document.querySelector("[data-countdown]");
  if (!el || !window.Intl || !Intl.PluralRules || !el.dataset.forms) { return; }
  var target = el.querySelector("strong") || el;
  var deadline = new Date(el.dataset.deadline);
  var forms = JSON.parse(el.dataset.forms);
  var plural = new Intl.PluralRules(document.documentElement.lang || "pl");
  var warsaw = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/Warsaw", year: "numeric", month: "2-digit", day: "2-digit"
  });

  function dayNumber(year, month, day) {
    return Date.UTC(year, month - 1, day) / 86400000;
  }

  function todayInWarsaw(now) {
    var parts = {};
    warsaw.formatToParts(now).forEach(function (p) { parts[p.type] = p.value; });
    return dayNumber(+parts.year, +parts.month, +parts.day);
  }

  function deadlineDay() {
    var p = el.dataset.deadlineDay.split("-");
    return dayNumber(+p[0], +p[1], +p[2]);
  }

  function update() {
    var now = new Date();
    var text;
    if (now > deadline) {
      text = el.dataset.ended;
      window.clearInterval(timer);
    } else {
      var days = Math.round(deadlineDay() - todayInWarsaw(now));
      text = days <= 0 ? el.dataset.today
        : (forms[plural.select(days)] || forms.other).replace("{n}", String(days));
    }
    if (text && target.textContent !== text) { target.textContent = text; }
  }

  var timer = window.setInterval(update, 60000);
  update();
})();
