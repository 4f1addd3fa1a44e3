// Hand raise and Q&A: a hand button in the control bar; the panel holds the hand queue
// (hosts and moderators lower hands) and the questions, sorted by upvotes.

import { h, replaceChildren } from "/static/js/dom.js";

export default function setup(api) {
  let hands = [];
  let questions = [];
  let questionsOn = true;
  const hand = api.button({ label: "Raise hand", icon: "✋", testid: "hand-button", onClick: () => toggleHand() });
  api.button({ label: "Q&A", icon: "💬", panel: true, testid: "qa-button" });
  const body = api.slot("side_panel");

  const queue = h("ol", { class: "qa-hands", "data-testid": "hand-queue" });
  const handsSection = h("section", { class: "qa-section" }, h("h3", { class: "qa-heading" }, "Raised hands"), queue);
  const text = h("textarea", { class: "input", rows: "2", maxlength: "2000", placeholder: "Ask a question…", "aria-label": "Your question", "data-testid": "question-input" });
  const ask = h("form", { class: "qa-ask", "data-testid": "question-form" }, text, h("button", { type: "submit", class: "btn btn-primary", "data-testid": "question-submit" }, "Ask"));
  const list = h("ol", { class: "qa-questions", "data-testid": "question-list" });
  body.append(handsSection, h("section", { class: "qa-section" }, h("h3", { class: "qa-heading" }, "Questions"), ask, list));

  const mine = () => api.store.getState().selfIds || [];
  const raised = () => hands.some((x) => mine().includes(x.participant_id));
  const fail = (err) => api.toast(err?.message || "That did not work.", "error");

  function toggleHand() {
    api.send(raised() ? "hand.lower" : "hand.raise").catch(fail);
  }

  ask.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    api.send("question.ask", { text: value }).then(() => { text.value = ""; }, fail);
  });

  function render() {
    const up = raised();
    hand.setAttribute("aria-pressed", String(up));
    hand.classList.toggle("is-active", up);
    hand.querySelector(".ctrl-label").textContent = up ? "Lower hand" : "Raise hand";
    const staff = api.isStaff();
    handsSection.hidden = !staff && hands.length === 0;
    replaceChildren(queue, hands.map((x, i) => h("li", { class: "qa-hand", "data-testid": "hand-row" },
      h("span", {}, `${i + 1}. ${x.name}`),
      staff && !mine().includes(x.participant_id)
        ? h("button", { type: "button", class: "btn btn-ghost", "data-testid": "hand-lower", on: { click: () => api.send("hand.lower", { participant_id: x.participant_id }).catch(fail) } }, "Lower")
        : null)));
    ask.hidden = !questionsOn;
    const identity = api.you()?.identity;
    const sorted = [...questions].sort((a, b) => (a.status === "answered") - (b.status === "answered") || b.votes - a.votes || a.asked_at - b.asked_at);
    replaceChildren(list, sorted.map((q) => h("li", { class: `qa-question is-${q.status}`, "data-testid": "question", dataset: { questionId: q.id } },
      h("p", { class: "qa-text" }, q.text),
      h("p", { class: "qa-meta" }, `${q.author || "Anonymous"} · ${q.votes} ${q.votes === 1 ? "vote" : "votes"}${q.status === "answered" ? " · answered" : ""}`),
      h("div", { class: "qa-actions" },
        q.author_identity !== identity && !q.voters.includes(identity) && q.status === "open"
          ? h("button", { type: "button", class: "btn", "data-testid": "question-upvote", on: { click: () => api.send("question.upvote", { question_id: q.id }).catch(fail) } }, "▲ Upvote")
          : null,
        api.can("question.answer") && q.status === "open"
          ? h("button", { type: "button", class: "btn", "data-testid": "question-answer", on: { click: () => api.send("question.answer", { question_id: q.id }).catch(fail) } }, "Mark answered")
          : null,
        api.can("question.dismiss")
          ? h("button", { type: "button", class: "btn btn-ghost", "data-testid": "question-dismiss", on: { click: () => api.send("question.dismiss", { question_id: q.id }).catch(fail) } }, "Dismiss")
          : null))));
  }

  function reset(state) {
    hands = state?.hands || [];
    questions = state?.questions || [];
    questionsOn = state?.questions_enabled !== false;
    render();
  }

  api.on("hands", (queueNow) => {
    const before = hands.length;
    hands = queueNow;
    render();
    if (api.isStaff() && hands.length > before) api.toast(`${hands[hands.length - 1].name} raised their hand`);
  });
  api.on("questions", (list_) => { questions = list_; render(); });
  api.on("welcome", reset);
  api.on("role", render);
  reset(api.state);
}
