// The tenant's live feed: one websocket per page (base.html), for every signed-in person.
// Each event is re-dispatched on `document` as a "ll:live" CustomEvent for the page's
// scripts (dashboards refresh on it). After a drop, the reconnect itself is dispatched
// ("reconnected"): what was sent while the socket was down is not replayed, so the page
// fetches its data again (no silent gap). A critical action waiting for the person's
// verdict ("verdict.needed") shows a toast and counts on the Review link.
(function () {
  "use strict";
  var socketInfo = document.getElementById("live-socket");
  if (!socketInfo) { return; }
  var status = document.getElementById("live-status");
  function say(text) { if (status) { status.textContent = text; } }
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var delay = 1000;
  var dropped = false;

  function toast(payload) {
    var box = document.getElementById("toasts");
    if (!box) { return; }
    var item = document.createElement("div");
    item.className = "toast";
    var title = document.createElement("strong");
    title.textContent = payload.title + ": your verdict?";
    var why = document.createElement("span");
    why.textContent = " " + payload.why + ". ";
    var link = document.createElement("a");
    link.href = socketInfo.dataset.review + "?action=" + encodeURIComponent(payload.action_id);
    link.textContent = "Review it";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.onclick = function () { item.remove(); };
    item.append(title, why, link, close);
    box.append(item);
    setTimeout(function () { item.remove(); }, 20000);
    var badge = document.getElementById("verdict-new");
    if (badge) {
      badge.textContent = String(Number(badge.textContent) + 1);
      badge.hidden = false;
    }
    // the review page's "Needs your verdict" tab: how many arrived since it was opened
    var tab = document.getElementById("needs-you-count");
    if (tab) {
      var fresh = tab.querySelector(".fresh") || tab.appendChild(document.createElement("strong"));
      fresh.className = "fresh";
      fresh.dataset.n = String(Number(fresh.dataset.n || 0) + 1);
      fresh.textContent = " · " + fresh.dataset.n + " new";
    }
  }

  function connect() {
    // websockets may be served on a port of their own (make run: HTTP over WSGI on one
    // port, websockets over ASGI on the next)
    var host = socketInfo.dataset.wsPort ? location.hostname + ":" + socketInfo.dataset.wsPort : location.host;
    var socket = new WebSocket(scheme + host + socketInfo.dataset.ws);
    socket.onopen = function () {
      say("connected");
      delay = 1000;
      if (dropped) {
        dropped = false;
        document.dispatchEvent(new CustomEvent("ll:live", { detail: { event: "reconnected", payload: {} } }));
      }
    };
    socket.onclose = function () {
      dropped = true;
      say("reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
    socket.onmessage = function (msg) {
      var data = JSON.parse(msg.data);
      if (data.event === "hello") { return; }
      say("last event: " + data.event + " at " + new Date().toLocaleTimeString());
      document.dispatchEvent(new CustomEvent("ll:live", { detail: data }));
      var bell = document.getElementById("bell-count");
      if (bell && data.event === "alert.opened") { bell.textContent = String(Number(bell.textContent) + 1); }
      if (data.event === "verdict.needed") { toast(data.payload); }
    };
  }
  connect();
})();
