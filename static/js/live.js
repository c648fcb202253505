// The tenant's live feed: one websocket per page; each event is re-dispatched on
// `document` as a "ll:live" CustomEvent for the page's scripts (dashboards refresh on it).
// After a drop, the reconnect itself is dispatched ("reconnected"): what was sent while
// the socket was down is not replayed, so the page fetches its data again (no silent gap).
(function () {
  "use strict";
  var el = document.getElementById("live-status");
  if (!el) { return; }
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var delay = 1000;
  var dropped = false;
  function connect() {
    // websockets may be served on a port of their own (make run: HTTP over WSGI on one
    // port, websockets over ASGI on the next)
    var host = el.dataset.wsPort ? location.hostname + ":" + el.dataset.wsPort : location.host;
    var socket = new WebSocket(scheme + host + el.dataset.ws);
    socket.onopen = function () {
      el.textContent = "connected";
      delay = 1000;
      if (dropped) {
        dropped = false;
        document.dispatchEvent(new CustomEvent("ll:live", { detail: { event: "reconnected", payload: {} } }));
      }
    };
    socket.onclose = function () {
      dropped = true;
      el.textContent = "reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
    socket.onmessage = function (msg) {
      var data = JSON.parse(msg.data);
      if (data.event === "hello") { return; }
      el.textContent = "last event: " + data.event + " at " + new Date().toLocaleTimeString();
      document.dispatchEvent(new CustomEvent("ll:live", { detail: data }));
      var bell = document.getElementById("bell-count");
      if (bell && data.event === "alert.opened") { bell.textContent = String(Number(bell.textContent) + 1); }
    };
  }
  connect();
})();
