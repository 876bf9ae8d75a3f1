// Keeps a gemba walk's draft on this phone while it is typed, and sends it when the connection returns.
//
// The form works without this script (a plain POST). With it, every change is saved in localStorage
// under the form's data-draft key, and a draft left from an earlier visit is put back, with the walk's
// key (client_key), so a walk sent again is still saved once. Every named field is kept (the answers,
// what was seen, the next step expected, the follow-up), so a field added to the form is kept too.
// Sending goes through fetch: when it fails for want of a connection, the draft stays and is sent again
// as soon as the browser is back online.
(function () {
  "use strict";
  var form = document.getElementById("walk-form");
  if (!form || !window.fetch || !window.localStorage) { return; }
  var storageKey = "lms." + form.getAttribute("data-draft");
  var status = document.getElementById("draft-status");
  var sending = false;

  function say(text) { if (status) { status.textContent = text; } }

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && el.type !== "submit";
    });
  }

  function save() {
    var draft = {};
    fields().forEach(function (el) { draft[el.name] = el.value; });
    try { localStorage.setItem(storageKey, JSON.stringify(draft)); } catch (e) { /* storage full: the form still works */ }
  }

  function restore() {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { saved = null; }
    if (!saved) { return; }
    var restored = false;
    fields().forEach(function (el) {
      if (Object.prototype.hasOwnProperty.call(saved, el.name) && saved[el.name] !== el.value) {
        // What the server drew after a refusal wins over an older draft; an empty field takes the draft.
        if (el.type === "hidden" ? el.name === "client_key" : !el.value) {
          el.value = saved[el.name];
          restored = restored || el.type !== "hidden";
        }
      }
    });
    if (restored) { say("Your unsent draft of this walk is back. Check it, then save the walk."); }
  }

  function clear() { try { localStorage.removeItem(storageKey); } catch (e) { /* nothing kept */ } }

  function send() {
    if (sending) { return; }
    sending = true;
    say("Sending your walk...");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        sending = false;
        if (response.ok && response.redirected) {
          clear();
          window.location.assign(response.url);
        } else {
          // Refused (a field to fix) or a server error: let the browser post it, so the page shows why.
          HTMLFormElement.prototype.submit.call(form);
        }
      })
      .catch(function () {
        sending = false;
        save();
        say("No connection. Your walk is kept on this phone and will be sent when the connection returns.");
        window.addEventListener("online", send, { once: true });
      });
  }

  restore();
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    save();
    if (navigator.onLine === false) {
      say("No connection. Your walk is kept on this phone and will be sent when the connection returns.");
      window.addEventListener("online", send, { once: true });
      return;
    }
    send();
  });
})();
