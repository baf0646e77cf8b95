/* The users page (admins) and "Your account": accounts, roles and passwords. No framework.
 *
 * Every write sends the session's CSRF token (X-CSRF-Token), as console.js does. Whatever goes
 * wrong is shown by the form it came from, in its role="alert" paragraph, with the server's own
 * sentence (problem+json `detail`); nothing here opens a native dialog.
 */
(function () {
  "use strict";

  var csrf = document.body.getAttribute("data-csrf") || "";

  function request(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var parse = type.indexOf("json") >= 0 ? response.json() : response.text();
      return parse.then(function (data) {
        if (!response.ok) {
          var detail = data && typeof data === "object" && data.detail;
          throw new Error(detail || "Something went wrong (" + response.status + ").");
        }
        return data;
      });
    }, function () {
      throw new Error("The server could not be reached; nothing was changed. Try again.");
    });
  }

  function show(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  /* Tell one form's outcome: an error, or what was done (each clears the other). */
  function Outcome(root) {
    var error = root.querySelector("[data-form-error]");
    var status = root.querySelector("[data-form-status]");
    return {
      clear: function () { show(error, ""); show(status, ""); },
      failed: function (err) { show(status, ""); show(error, err.message); },
      done: function (text) { show(error, ""); show(status, text); }
    };
  }

  function article(role) {
    return (role === "contributor" ? "a " : "an ") + role;
  }

  /* Users page ------------------------------------------------------------------------------ */

  var newUser = document.querySelector("[data-new-user]");
  if (newUser) {
    newUser.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = newUser.elements;
      var outcome = Outcome(newUser);
      outcome.clear();
      request("POST", "/console/users", {
        username: f.username.value, display_name: f.display_name.value || null,
        role: f.role.value, password: f.password.value
      }).then(function () { location.reload(); }, outcome.failed);
    });
  }

  document.querySelectorAll("tr[data-user]").forEach(function (row) {
    var name = row.getAttribute("data-user");
    var message = document.querySelector('tr[data-user-message="' + CSS.escape(name) + '"]');
    if (!message) return; // your own row: nothing to manage here
    var outcome = Outcome(message);
    var base = "/console/users/" + encodeURIComponent(name);
    var state = row.querySelector("[data-user-status]");
    var disable = row.querySelector("[data-disable-user]");
    var enable = row.querySelector("[data-enable-user]");
    var busy = false;

    function act(path, body, then) {
      if (busy) return;
      busy = true;
      outcome.clear();
      request("POST", base + path, body).then(then, outcome.failed).finally(function () { busy = false; });
    }

    function shown(disabled) {
      state.textContent = disabled ? "Disabled" : "Active";
      disable.hidden = disabled;
      enable.hidden = !disabled;
      (disabled ? enable : disable).focus(); // the button pressed is gone: focus its opposite
    }

    disable.addEventListener("click", function () {
      act("/disable", {}, function () {
        shown(true);
        outcome.done(name + " is disabled and signed out everywhere.");
      });
    });
    enable.addEventListener("click", function () {
      act("/enable", {}, function () {
        shown(false);
        outcome.done(name + " may sign in again.");
      });
    });

    var roleForm = row.querySelector("[data-user-role]");
    roleForm.addEventListener("submit", function (e) {
      e.preventDefault();
      act("/role", { role: roleForm.elements.role.value }, function (user) {
        outcome.done(name + " is now " + article(user.role) + ".");
      });
    });

    var passwordForm = row.querySelector("[data-user-password]");
    passwordForm.addEventListener("submit", function (e) {
      e.preventDefault();
      act("/password", { password: passwordForm.elements.password.value }, function () {
        passwordForm.reset();
        outcome.done("New password set for " + name + "; they were signed out everywhere.");
      });
    });
  });

  /* Your account ---------------------------------------------------------------------------- */

  var own = document.querySelector("[data-own-password]");
  if (own) {
    var busy = false;
    own.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;
      var f = own.elements;
      var outcome = Outcome(own);
      outcome.clear();
      if (!f.current_password.value) {
        outcome.failed(new Error("Enter your current password."));
        f.current_password.focus();
        return;
      }
      if (f.new_password.value !== f.confirm_password.value) {
        outcome.failed(new Error("The new password and its confirmation differ; type them again."));
        f.confirm_password.focus();
        return;
      }
      busy = true;
      request("POST", "/console/account/password", {
        current_password: f.current_password.value, new_password: f.new_password.value
      }).then(function (result) {
        own.reset();
        var ended = result.other_sessions_ended;
        outcome.done("Your password is changed. You stay signed in here; " + (
          ended === 0 ? "you had no other session." :
          ended === 1 ? "your 1 other session was signed out." :
          "your " + ended + " other sessions were signed out."));
      }, outcome.failed).finally(function () { busy = false; });
    });
  }
})();
