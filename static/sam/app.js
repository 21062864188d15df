/* Small behaviours of the shell; no framework beyond htmx. */
(function () {
  "use strict";
  // "Select all" check box of a list (SelectionColumn): toggles the row boxes of the same table.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-select-all]")) return;
    var table = box.closest("table");
    if (!table) return;
    table.querySelectorAll('input[name="selected"]').forEach(function (row) { row.checked = box.checked; });
  });
  // Tenant switcher: choosing with the pointer switches at once; a keyboard user moves through the
  // options with the arrow keys without leaving the page and switches with Enter (or the button).
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("tenant-select");
    if (!select) return;
    var browsing = false;
    select.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); select.form.submit(); return; }
      browsing = event.key !== "Tab";
    });
    select.addEventListener("blur", function () { browsing = false; });
    select.addEventListener("change", function () {
      if (!browsing && select.value) select.form.submit();
    });
  });
  // Behaviours declared in the markup instead of inline handlers, which the content security
  // policy refuses: data-autosubmit submits its form on change, data-confirm asks first.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("button[data-confirm], input[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  // Move focus to content swapped in by htmx when it asks for it (data-focus-after-swap).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target && event.detail.target.querySelector("[data-focus-after-swap]");
    if (target) target.focus();
  });
  // A read-only field (an invitation link) selects itself on focus, for copying.
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el.matches && el.matches("input[data-select-on-focus]")) el.select();
  });
  // "Go back" on the error pages: the previous page of this tab when there is one.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-history-back]");
    if (link && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
  // "+ filter": show the chosen filter's field and focus its value.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select.add-filter")) return;
    var name = select.value;
    select.value = "";
    if (!name) return;
    var field = document.querySelector('.filter-field[data-filter="' + name + '"]');
    if (!field) return;
    field.hidden = false;
    field.querySelectorAll("input, select").forEach(function (control) { control.disabled = false; });
    var input = field.querySelector(".filter-value");
    if (input) input.focus();
  });
  // Column picker: move a column up or down; the order posted is the order shown.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-move]");
    if (!button) return;
    var item = button.closest("li.column-item");
    if (!item) return;
    if (button.dataset.move === "up" && item.previousElementSibling) {
      item.parentNode.insertBefore(item, item.previousElementSibling);
    } else if (button.dataset.move === "down" && item.nextElementSibling) {
      item.parentNode.insertBefore(item.nextElementSibling, item);
    }
    button.focus();
  });
})();
