// Dispatch suggestions: "采用" buttons fill the category (and, where the page has one, the lead-unit) field.
// On the registration form the level-1 select loads its level-2 options through htmx first.
(function () {
  "use strict";
  if (window.minqingSuggest) { return; }
  window.minqingSuggest = true;
  var UNIT_SELECTS = ["id_assign_lead_unit", "id_reassign_lead_unit", "id_lead_unit"];

  function byId(id) { return document.getElementById(id); }

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  }

  function choose(select, value) {
    if (select && hasOption(select, value)) {
      select.value = value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    }
    return false;
  }

  function fillCategory(level1, category) {
    if (choose(byId("id_accept_category"), category)) { return; }
    var level1Select = byId("id_level1"), categorySelect = byId("id_category");
    if (!level1Select || !categorySelect) { return; }
    if (level1Select.value === level1 && choose(categorySelect, category)) { return; }
    categorySelect.addEventListener("htmx:afterSwap", function once() {
      categorySelect.removeEventListener("htmx:afterSwap", once);
      choose(categorySelect, category);
    });
    choose(level1Select, level1);
  }

  function fillUnit(unit) {
    UNIT_SELECTS.some(function (id) { return choose(byId(id), unit); });
  }

  function showUnitButtons() {
    var present = UNIT_SELECTS.some(function (id) { return byId(id); });
    document.querySelectorAll(".suggest-fill[data-unit]").forEach(function (button) { button.hidden = !present; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".suggest-fill") : null;
    if (button) {
      if (button.dataset.category) { fillCategory(button.dataset.level1, button.dataset.category); }
      if (button.dataset.unit) { fillUnit(button.dataset.unit); }
      return;
    }
    var confirmed = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (confirmed && !window.confirm(confirmed.dataset.confirm)) { event.preventDefault(); }
  });
  document.addEventListener("htmx:afterSettle", showUnitButtons);
  document.addEventListener("DOMContentLoaded", showUnitButtons);
  if (document.readyState !== "loading") { showUnitButtons(); }
})();
