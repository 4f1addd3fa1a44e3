// Polls in the browser: hosts and moderators start and close polls from the side panel;
// everyone votes there and watches the results move.

import { h, replaceChildren } from "/static/js/dom.js";

export default function setup(api) {
  /** poll id → poll view (the staff view for hosts and moderators) */
  const polls = new Map();
  let myVotes = {};
  const body = api.slot("side_panel");
  api.button({ label: "Polls", icon: "📊", panel: true, testid: "polls-button" });

  const list = h("div", { class: "polls-list", "data-testid": "polls-list" });
  const empty = h("p", { class: "polls-empty", "data-testid": "polls-empty" }, "No polls yet.");
  const form = createForm();
  body.append(form, empty, list);

  function reset(state) {
    polls.clear();
    for (const p of state?.polls || []) polls.set(p.id, p);
    myVotes = { ...(state?.my_votes || {}) };
    render();
  }

  function createForm() {
    const question = h("input", { class: "input", "data-testid": "poll-question-input", maxlength: "300", placeholder: "Ask a question…", "aria-label": "Question" });
    const options = h("textarea", { class: "input polls-options-input", "data-testid": "poll-options-input", rows: "4", placeholder: "One answer per line", "aria-label": "Answers, one per line" });
    const multiple = h("input", { type: "checkbox", "data-testid": "poll-multiple" });
    const anonymous = h("input", { type: "checkbox", "data-testid": "poll-anonymous" });
    const error = h("p", { class: "polls-error", role: "alert", hidden: true });
    const el = h("form", { class: "polls-form", "data-testid": "poll-form" },
      h("h3", { class: "polls-heading" }, "New poll"), question, options,
      h("label", { class: "polls-check" }, multiple, " Several answers allowed"),
      h("label", { class: "polls-check" }, anonymous, " Anonymous"),
      error,
      h("button", { type: "submit", class: "btn btn-primary", "data-testid": "poll-start" }, "Start poll"));
    el.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answers = options.value.split("\n").map((s) => s.trim()).filter(Boolean);
      try {
        await api.send("create", { question: question.value.trim(), options: answers, multiple: multiple.checked, anonymous: anonymous.checked });
        question.value = "";
        options.value = "";
        error.hidden = true;
      } catch (err) {
        error.textContent = err.message || "The poll could not be started.";
        error.hidden = false;
      }
    });
    return el;
  }

  function pollCard(poll) {
    const mine = myVotes[poll.id];
    const canVote = poll.status === "open" && !mine && api.can("vote");
    const total = poll.counts ? poll.counts.reduce((a, b) => a + b, 0) : 0;
    const inputs = [];
    const rows = poll.options.map((text, i) => {
      const count = poll.counts ? poll.counts[i] : null;
      const share = count !== null && total ? Math.round((count / total) * 100) : 0;
      const input = canVote ? h("input", { type: poll.multiple ? "checkbox" : "radio", name: `poll-${poll.id}`, value: String(i), "data-testid": "poll-choice" }) : null;
      if (input) inputs.push(input);
      const chosen = mine?.includes(i);
      return h("li", { class: `poll-option${chosen ? " is-mine" : ""}`, "data-testid": "poll-option", dataset: { index: String(i) } },
        h("label", { class: "poll-option-label" }, input, h("span", { class: "poll-option-text" }, text), chosen ? h("span", { class: "poll-mine" }, "✓ your vote") : null),
        count === null ? null : h("div", { class: "poll-bar", "aria-hidden": "true" }, h("div", { class: "poll-bar-fill", style: `width: ${share}%` })),
        count === null ? null : h("span", { class: "poll-count", "data-testid": "poll-count" }, String(count)),
        poll.names?.[i]?.length ? h("span", { class: "poll-names" }, poll.names[i].join(", ")) : null);
    });
    const actions = [];
    if (canVote) {
      actions.push(h("button", {
        type: "button", class: "btn btn-primary", "data-testid": "poll-vote",
        on: { click: async () => {
          const choices = inputs.filter((x) => x.checked).map((x) => Number(x.value));
          if (!choices.length) return api.toast("Pick an answer first.");
          try {
            await api.send("vote", { poll_id: poll.id, choices });
            myVotes[poll.id] = choices;
            render();
          } catch (err) {
            api.toast(err.message || "Your vote was not counted.", "error");
          }
        } },
      }, "Vote"));
    }
    if (api.can("close") && poll.status === "open") {
      actions.push(h("button", { type: "button", class: "btn", "data-testid": "poll-close", on: { click: () => api.send("close", { poll_id: poll.id }).catch((e) => api.toast(e.message, "error")) } }, "Close poll"));
    }
    if (api.can("reveal") && !poll.results_visible) {
      actions.push(h("button", { type: "button", class: "btn", "data-testid": "poll-reveal", on: { click: () => api.send("reveal", { poll_id: poll.id }).catch((e) => api.toast(e.message, "error")) } }, "Show results to everyone"));
    }
    const status = poll.status === "open" ? "Open" : "Closed";
    return h("article", { class: "poll-card", "data-testid": "poll-card", dataset: { pollId: poll.id, status: poll.status } },
      h("header", { class: "poll-head" },
        h("h3", { class: "poll-question", "data-testid": "poll-question" }, poll.question),
        h("span", { class: `poll-status is-${poll.status}` }, status)),
      h("p", { class: "poll-meta" }, [
        `${poll.voters} ${poll.voters === 1 ? "vote" : "votes"}`,
        poll.multiple ? " · several answers" : "",
        poll.anonymous ? " · anonymous" : "",
        poll.counts === null ? " · results shown later" : "",
      ].join("")),
      h("ul", { class: "poll-options" }, rows),
      actions.length ? h("div", { class: "poll-actions" }, actions) : null);
  }

  function render() {
    form.hidden = !api.can("create");
    const ordered = [...polls.values()].reverse();
    empty.hidden = ordered.length > 0;
    replaceChildren(list, ordered.map(pollCard));
  }

  function update(poll) {
    const isNew = !polls.has(poll.id);
    polls.set(poll.id, poll);
    render();
    if (isNew && poll.status === "open" && !api.isStaff()) {
      api.openPanel();
      api.toast(`New poll: ${poll.question}`);
    }
  }

  api.on("poll", (poll) => { if (!api.isStaff()) update(poll); });
  api.on("poll.staff", (poll) => { if (api.isStaff()) update(poll); });
  api.on("voted", ({ poll_id, choices }) => { myVotes[poll_id] = choices; render(); });
  api.on("welcome", reset);
  api.on("role", render);
  reset(api.state);
}
