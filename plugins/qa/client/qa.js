// Q&A: the panel holds the questions, sorted by upvotes. (Raising a hand is the room's own
// control-bar button; the People panel lists raised hands.)

import { h, replaceChildren } from "/static/js/dom.js";

export default function setup(api) {
  let questions = [];
  let questionsOn = true;
  api.button({ label: "Q&A", icon: "💬", panel: true, testid: "qa-button" });
  const body = api.slot("side_panel");
  const text = h("textarea", { class: "input", rows: "2", maxlength: "2000", placeholder: "Ask a question…", "aria-label": "Your question", "data-testid": "question-input" });
  const ask = h("form", { class: "qa-ask", "data-testid": "question-form" }, text, h("button", { type: "submit", class: "btn btn-primary", "data-testid": "question-submit" }, "Ask"));
  const list = h("ol", { class: "qa-questions", "data-testid": "question-list" });
  body.append(h("section", { class: "qa-section" }, h("h3", { class: "qa-heading" }, "Questions"), ask, list));

  const fail = (err) => api.toast(err?.message || "That did not work.", "error");

  ask.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    api.send("question.ask", { text: value }).then(() => { text.value = ""; }, fail);
  });

  function render() {
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
    questions = state?.questions || [];
    questionsOn = state?.questions_enabled !== false;
    render();
  }

  api.on("questions", (list_) => { questions = list_; render(); });
  api.on("welcome", reset);
  api.on("role", render);
  reset(api.state);
}
