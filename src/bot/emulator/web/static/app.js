// The demo's chat page: a view of the emulator's chats, kept live by server-sent events.
// Everything the page shows comes from the server as already-escaped HTML (render.py); the
// page only arranges it and posts what the person does.
"use strict";

const page = {
  people: [],
  current: null,
  chats: new Map(), // chat id -> Map(message id -> item)
  unread: new Map(),
};
const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "html") node.innerHTML = value;
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function humanSize(size) {
  if (size < 1000) return `${size} B`;
  if (size < 1000000) return `${(size / 1000).toFixed(1)} kB`;
  return `${(size / 1000000).toFixed(1)} MB`;
}

function setStatus(text) {
  $("status").textContent = text;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!response.ok || !answer.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

// --- people ------------------------------------------------------------------------------

function renderPeople() {
  const list = $("people");
  list.replaceChildren();
  for (const person of page.people) {
    const unread = page.unread.get(person.id) || 0;
    const button = element("button", {
      type: "button",
      "data-chat": person.id,
      "aria-current": person.id === page.current ? "true" : "false",
    }, [
      document.createTextNode(person.name),
      unread ? element("span", { class: "unread", text: String(unread), "aria-label": `${unread} new` }) : null,
      element("span", { class: "role", text: person.role === "trainer" ? "trainee and trainer" : "trainee" }),
    ]);
    button.addEventListener("click", () => switchTo(person.id));
    list.append(element("li", {}, [button]));
  }
}

function switchTo(chatId) {
  page.current = chatId;
  page.unread.set(chatId, 0);
  const person = page.people.find((p) => p.id === chatId);
  $("chat-title").textContent = person ? `Chat with the bot as ${person.name}` : "";
  renderPeople();
  renderLog();
}

// --- messages ----------------------------------------------------------------------------

function renderPoll(chatId, item) {
  const poll = item.poll;
  const legend = element("legend", { html: poll.question }, [
    element("span", { class: "kind", text: poll.quiz ? "Quiz" : "Poll" }),
  ]);
  const list = element("ul");
  const answered = poll.chosen.length > 0 || poll.closed;
  poll.options.forEach((option, index) => {
    if (!answered) {
      const button = element("button", { type: "button", class: "option", html: option });
      button.addEventListener("click", async () => {
        list.querySelectorAll("button").forEach((b) => (b.disabled = true));
        try {
          await post(`/chats/${chatId}/vote`, { message_id: item.id, option: index });
        } catch (error) {
          setStatus(error.message);
          list.querySelectorAll("button").forEach((b) => (b.disabled = false));
        }
      });
      list.append(element("li", {}, [button]));
      return;
    }
    const right = poll.correct.includes(index);
    const chosen = poll.chosen.includes(index);
    const classes = ["result", right ? "right" : "", chosen && !right && poll.quiz ? "wrong" : ""];
    const notes = [right ? "right answer" : "", chosen ? "your answer" : ""].filter(Boolean);
    list.append(element("li", { class: classes.join(" ").trim() }, [
      element("span", { class: "mark", "aria-hidden": "true", text: right ? "✓" : chosen ? (poll.quiz ? "✗" : "●") : "·" }),
      element("span", { html: option }),
      notes.length ? element("span", { class: "visually-hidden", text: ` (${notes.join(", ")})` }) : null,
      element("span", { class: "count", text: String(poll.counts[index]) }),
    ]));
  });
  const parts = [legend, list];
  if (poll.explanation) {
    parts.push(element("p", { class: "explanation" }, [
      element("strong", { text: "Explanation: " }),
      element("span", { html: poll.explanation }),
    ]));
  }
  return element("fieldset", { class: "poll" }, parts);
}

function renderKeyboard(chatId, item) {
  if (!item.keyboard.length) return null;
  const keyboard = element("div", { class: "keyboard", role: "group", "aria-label": "Buttons" });
  for (const row of item.keyboard) {
    const rowNode = element("div", { class: "row" });
    for (const cell of row) {
      if ("url" in cell) {
        rowNode.append(element("a", { href: cell.url || "#", target: "_blank", rel: "noopener noreferrer", text: `${cell.text} ↗` }));
        continue;
      }
      const button = element("button", { type: "button", class: "kb", text: cell.text });
      button.addEventListener("click", async () => {
        keyboard.querySelectorAll("button").forEach((b) => (b.disabled = true));
        try {
          const answer = await post(`/chats/${chatId}/press`, { message_id: item.id, row: cell.row, col: cell.col });
          setStatus(answer.answer ? `💬 ${answer.answer}` : "");
        } catch (error) {
          setStatus(error.message);
        } finally {
          keyboard.querySelectorAll("button").forEach((b) => (b.disabled = false));
        }
      });
      rowNode.append(button);
    }
    keyboard.append(rowNode);
  }
  return keyboard;
}

function renderItem(chatId, item) {
  const bubble = element("div", { class: "bubble" });
  if (item.poll) bubble.append(renderPoll(chatId, item));
  if (item.document) {
    bubble.append(element("a", {
      class: "document",
      href: `/chats/${chatId}/documents/${item.id}`,
      download: item.document.name,
    }, [
      element("span", { "aria-hidden": "true", text: "📎" }),
      document.createTextNode(`${item.document.name} (${humanSize(item.document.size)})`),
    ]));
  }
  if (item.html) bubble.append(element("div", { class: "text", html: item.html }));
  if (item.edited) bubble.append(element("span", { class: "meta", text: "edited" }));
  const label = item.from === "bot" ? "The bot" : "You";
  return element("article", {
    class: `msg ${item.from === "bot" ? "bot" : "person"}`,
    "data-id": item.id,
    "aria-label": label,
  }, [bubble, renderKeyboard(chatId, item)]);
}

function renderLog() {
  const log = $("log");
  log.replaceChildren();
  const items = page.chats.get(page.current);
  if (!items) return;
  for (const item of [...items.values()].sort((a, b) => a.id - b.id)) {
    log.append(renderItem(page.current, item));
  }
  log.scrollTop = log.scrollHeight;
}

function putItem(chatId, item) {
  if (!page.chats.has(chatId)) page.chats.set(chatId, new Map());
  const items = page.chats.get(chatId);
  const isNew = !items.has(item.id);
  items.set(item.id, item);
  if (chatId !== page.current) {
    if (isNew) {
      page.unread.set(chatId, (page.unread.get(chatId) || 0) + 1);
      renderPeople();
    }
    return;
  }
  const log = $("log");
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  const node = renderItem(chatId, item);
  const existing = log.querySelector(`[data-id="${item.id}"]`);
  if (existing) {
    existing.replaceWith(node);
  } else {
    const later = [...log.children].find((child) => Number(child.dataset.id) > item.id);
    log.insertBefore(node, later || null);
  }
  if (nearBottom || item.from !== "bot") log.scrollTop = log.scrollHeight;
}

function removeItem(chatId, id) {
  const items = page.chats.get(chatId);
  if (items) items.delete(id);
  if (chatId === page.current) {
    const existing = $("log").querySelector(`[data-id="${id}"]`);
    if (existing) existing.remove();
  }
}

// --- problems and the clock --------------------------------------------------------------

function showProblems(problems) {
  const box = $("problems");
  const list = $("problem-list");
  list.replaceChildren();
  for (const problem of problems) {
    list.append(element("li", {}, [
      element("code", { text: problem.where }),
      document.createTextNode(`: ${problem.warning ? "warning: " : ""}${problem.message}`),
    ]));
  }
  box.hidden = !problems.some((problem) => !problem.warning);
}

function showClock(text) {
  if (!text) return;
  $("clock-box").hidden = false;
  $("clock").textContent = text;
}

// --- wiring ------------------------------------------------------------------------------

function applySnapshot(data) {
  page.people = data.people.map(({ items, ...person }) => person);
  page.chats = new Map(data.people.map((p) => [p.id, new Map(p.items.map((item) => [item.id, item]))]));
  if (!page.people.some((p) => p.id === page.current)) page.current = page.people[0].id;
  showProblems(data.problems);
  if (data.time_travel) showClock(data.clock);
  switchTo(page.current);
  document.body.dataset.ready = "true";
}

function connect() {
  const source = new EventSource("/events");
  const on = (name, handler) => source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  on("snapshot", applySnapshot);
  on("item", ({ chat, item }) => putItem(chat, item));
  on("deleted", ({ chat, id }) => removeItem(chat, id));
  on("problems", ({ problems }) => showProblems(problems));
  on("clock", ({ clock }) => showClock(clock));
  source.addEventListener("error", () => setStatus("Lost the connection to the demo; retrying…"));
  source.addEventListener("open", () => setStatus(""));
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("text");
  const text = input.value.trim();
  if (!text || page.current === null) return;
  input.value = "";
  try {
    await post(`/chats/${page.current}/send`, { text });
  } catch (error) {
    input.value = text;
    setStatus(error.message);
  }
});

for (const button of document.querySelectorAll("[data-hours]")) {
  button.addEventListener("click", async () => {
    try {
      const answer = await post("/clock", { hours: Number(button.dataset.hours) });
      showClock(answer.clock);
      setStatus(`The bot's clock moved ${button.textContent.replace("+", "")} ahead.`);
    } catch (error) {
      setStatus(error.message);
    }
  });
}

connect();
