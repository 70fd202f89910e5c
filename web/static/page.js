// threeway test page: what every part of the page shares: element lookup,
// the link's parameters, the read-only state tests read (window.threeway),
// and the banner and Events list.

export const $ = (id) => document.getElementById(id);
export const ROLES = ["customer", "agent", "third"];
export const params = new URLSearchParams(location.search);

export const threeway = {
  state: null,      // the last call.state
  messages: [],     // every server message, oldest first
  presence: null,   // the last presence (console)
  directory: null,  // {queues, agents} after agent.signin
  offers: {},       // open help offers by request id, with a local deadline
  role: null,       // this socket's role while a party
};

export function status(text, kind) {
  $("status").textContent = text;
  $("status").className = "status" + (kind ? " " + kind : "");
  log(text, kind);
}

export function log(text, kind) {
  const li = document.createElement("li");
  li.textContent = new Date().toLocaleTimeString() + "  " + text;
  if (kind === "error") li.className = "error";
  const list = $("log");
  list.prepend(li);
  while (list.children.length > 100) list.lastChild.remove();
}

export function roleName(role) {
  return role === "third" ? "third party" : role;
}

export function who(person) {
  if (!person) return "someone";
  return person.name ? person.name + (person.id ? " (" + person.id + ")" : "") : person.id;
}
window.threeway = threeway;

// handlers are the functions the server's messages go to, by type. They
// live here, in the module nothing else is imported by, so that every
// module can register its own as it loads.
export const handlers = {};

// on makes fn handle the server's messages of type.
export function on(type, fn) {
  handlers[type] = fn;
}
