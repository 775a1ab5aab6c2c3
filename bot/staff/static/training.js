// Training inbox: tokens of each message as the configured tokenizer cuts them; clicking a first
// and a last token selects a span, which becomes an entity of the label (always on token boundaries).
(function () {
  "use strict";
  const tokens = JSON.parse(document.getElementById("training-tokens").textContent || "{}");
  document.querySelectorAll(".signal-group").forEach(function (group) {
    const form = group.querySelector(".label-form");
    const text = group.querySelector(".group-text").textContent;
    const box = form.querySelector(".tokens");
    const hidden = form.querySelector("input[name=entities]");
    const list = form.querySelector(".entity-list");
    const entities = [];
    let anchor = null, selection = null;
    (tokens[group.dataset.group] || []).forEach(function (token, index) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "token";
      button.textContent = token.text;
      button.dataset.index = index;
      button.title = token.start + "–" + token.end;
      button.addEventListener("click", function () {
        if (anchor === null || selection) { anchor = index; selection = null; }
        else { selection = [Math.min(anchor, index), Math.max(anchor, index)]; anchor = null; }
        const range = selection || [index, index];
        box.querySelectorAll(".token").forEach(function (other, i) {
          other.classList.toggle("selected", i >= range[0] && i <= range[1]);
        });
        if (!selection) { selection = null; box.dataset.single = index; }
      });
      box.appendChild(button);
    });
    form.querySelector(".add-entity").addEventListener("click", function () {
      const list_ = tokens[group.dataset.group] || [];
      const range = selection || (box.dataset.single !== undefined ? [Number(box.dataset.single), Number(box.dataset.single)] : null);
      if (!range) { return; }
      const name = form.querySelector(".entity-name").value;
      const value = form.querySelector(".entity-value").value;
      const entity = {entity: name, start: list_[range[0]].start, end: list_[range[1]].end};
      if (value && name === "complaint_category") { entity.value = value; }
      entities.push(entity);
      hidden.value = JSON.stringify(entities);
      const item = document.createElement("li");
      item.textContent = text.slice(entity.start, entity.end) + " → " + name + (entity.value ? " = " + entity.value : "");
      list.appendChild(item);
      box.querySelectorAll(".token").forEach(function (other, i) {
        if (i >= range[0] && i <= range[1]) { other.classList.add("in-entity"); }
        other.classList.remove("selected");
      });
      selection = null; anchor = null; delete box.dataset.single;
    });
  });
})();
