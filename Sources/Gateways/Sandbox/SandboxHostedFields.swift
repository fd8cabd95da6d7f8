import Foundation
import Hummingbird
import HTTPTypes

/// The sandbox's hosted fields, served from the sandbox's own origin: a script the portal's page
/// loads, and the page that script frames, which holds the card inputs. The card number is typed
/// into that frame, posted to the sandbox's `/v1/tokens`, and only a single-use token crosses back
/// to the portal's page by `postMessage` — origin-checked in both directions.
enum SandboxHostedFields {
    static func register(on router: Router<BasicRequestContext>, settings: SandboxSettings) {
        router.get("v1/hosted-fields.js") { _, _ -> Response in
            var response = Response(status: .ok, headers: [.contentType: "application/javascript; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(string: script)))
            response.headers[.cacheControl] = "no-cache"
            return response
        }
        router.get("v1/fields") { request, _ -> Response in framedPage(request, settings: settings, fieldsPage) }
        router.get("v1/challenge") { request, _ -> Response in framedPage(request, settings: settings, challengePage) }
    }

    /// A page only a registered site may frame, holding inputs the site's own page cannot reach.
    static func framedPage(_ request: Request, settings: SandboxSettings, _ page: (_ parent: String, _ key: String) -> String) -> Response {
        let parent = request.uri.queryParameters["parent"].map(String.init) ?? ""
        let key = request.uri.queryParameters["key"].map(String.init) ?? ""
        guard key == settings.publicKey, settings.allowedOrigins.contains(parent) else {
            return Response(status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "This page may only be framed by a registered site.")))
        }
        var response = Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: page(parent, key))))
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors \(parent)"
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static func jsonString(_ value: String) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: [value], options: [])) ?? Data("[\"\"]".utf8), as: UTF8.self)
    }

    /// The bank's 3-D Secure challenge, as the sandbox plays it: the parent page hands over the
    /// charge and its client secret by `postMessage`; "Confirm" completes the charge.
    static func challengePage(parent: String, key: String) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Confirm payment</title>
        <style>body{margin:0;font:15px system-ui,sans-serif;color:#1b1f24}button{font:inherit;padding:.5rem 1rem;margin-right:.5rem}
        #error{color:#a11d1d;min-height:1.2em;margin-top:.4rem}</style></head><body>
        <p><strong>Sandbox bank</strong>: confirm this payment?</p>
        <button id="approve" type="button" disabled>Confirm payment</button><button id="cancel" type="button">Cancel</button>
        <div id="error" role="alert"></div>
        <script>
        (function () {
          var parentOrigin = \(jsonString(parent))[0];
          var charge = null;
          function reply(message) { window.parent.postMessage(message, parentOrigin); }
          window.addEventListener("message", function (event) {
            if (event.origin !== parentOrigin || event.source !== window.parent) { return; }
            var data = event.data || {};
            if (data.type !== "sandbox:challenge") { return; }
            charge = data;
            document.getElementById("approve").disabled = false;
          });
          document.getElementById("cancel").addEventListener("click", function () {
            reply({ type: "sandbox:error", message: "You cancelled the confirmation." });
          });
          document.getElementById("approve").addEventListener("click", function () {
            fetch("/v1/charges/" + encodeURIComponent(charge.charge) + "/confirm", { method: "POST",
              headers: { "Content-Type": "application/json" }, body: JSON.stringify({ client_secret: charge.clientSecret }) })
              .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, json: j }; }); })
              .then(function (result) {
                if (result.ok && result.json.status === "succeeded") { reply({ type: "sandbox:authenticated" }); }
                else { reply({ type: "sandbox:error", message: "Your bank could not confirm the payment." }); }
              })
              .catch(function () { reply({ type: "sandbox:error", message: "The bank could not be reached." }); });
          });
          reply({ type: "sandbox:ready" });
        })();
        </script></body></html>
        """
    }

    static func fieldsPage(parent: String, key: String) -> String {
        let parentJSON = jsonString(parent)
        let keyJSON = jsonString(key)
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Card details</title>
        <style>
        body{margin:0;font:15px system-ui,sans-serif;color:#1b1f24}
        label{display:block;font-weight:600;margin:.4rem 0 .2rem}
        input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #9aa4b0;border-radius:6px;font:inherit}
        .row{display:flex;gap:.5rem}.row>div{flex:1}
        #error{color:#a11d1d;min-height:1.2em;margin-top:.4rem}
        </style></head><body>
        <label for="number">Card number</label>
        <input id="number" autocomplete="cc-number" inputmode="numeric" placeholder="1234 1234 1234 1234">
        <div class="row">
          <div><label for="expiry">Expiry (MM/YY)</label><input id="expiry" autocomplete="cc-exp" inputmode="numeric" placeholder="MM/YY"></div>
          <div><label for="cvc">CVC</label><input id="cvc" autocomplete="cc-csc" inputmode="numeric" placeholder="123"></div>
        </div>
        <div id="error" role="alert"></div>
        <script>
        (function () {
          var parentOrigin = \(parentJSON)[0];
          var publicKey = \(keyJSON)[0];
          function reply(message) { window.parent.postMessage(message, parentOrigin); }
          window.addEventListener("message", function (event) {
            if (event.origin !== parentOrigin || event.source !== window.parent) { return; }
            var data = event.data || {};
            if (data.type !== "sandbox:tokenize") { return; }
            var expiry = document.getElementById("expiry").value.replace(/\\s/g, "").split("/");
            var year = parseInt(expiry[1] || "", 10);
            if (year < 100) { year += 2000; }
            var body = {
              key: publicKey,
              number: document.getElementById("number").value.replace(/[\\s-]/g, ""),
              exp_month: parseInt(expiry[0] || "", 10) || 0,
              exp_year: year || 0,
              cvc: document.getElementById("cvc").value.trim(),
              postal_code: data.postalCode || ""
            };
            fetch("/v1/tokens", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
              .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, json: j }; }); })
              .then(function (result) {
                if (result.ok) {
                  document.getElementById("error").textContent = "";
                  reply({ type: "sandbox:token", requestId: data.requestId, token: result.json.id, brand: result.json.brand, last4: result.json.last4 });
                } else {
                  var message = (result.json.error && result.json.error.message) || "Your card could not be checked.";
                  document.getElementById("error").textContent = message;
                  reply({ type: "sandbox:error", requestId: data.requestId, message: message });
                }
              })
              .catch(function () { reply({ type: "sandbox:error", requestId: data.requestId, message: "The card form could not reach the payment provider." }); });
          });
          reply({ type: "sandbox:ready" });
        })();
        </script></body></html>
        """
    }

    /// `SandboxFields.mount(element, {publicKey, gatewayOrigin})` frames the fields;
    /// `fields.tokenize({postalCode})` resolves to `{token, brand, last4}` or rejects with a message.
    static let script = """
    (function () {
      "use strict";
      // The gateway's own page, framed; it checks that this site may frame it.
      function framePage(element, options, path, title, id, height) {
        var frame = document.createElement("iframe");
        frame.src = options.gatewayOrigin + path + "?key=" + encodeURIComponent(options.publicKey) + "&parent=" + encodeURIComponent(window.location.origin);
        frame.title = title;
        frame.id = id;
        frame.style.border = "0";
        frame.style.width = "100%";
        frame.style.height = height;
        element.appendChild(frame);
        return frame;
      }
      function mount(element, options) {
        var origin = options.gatewayOrigin;
        var frame = framePage(element, options, "/v1/fields", "Secure card details", "sandbox-card-frame", "190px");
        var pending = {};
        var counter = 0;
        window.addEventListener("message", function (event) {
          if (event.origin !== origin || event.source !== frame.contentWindow) { return; }
          var data = event.data || {};
          var waiter = pending[data.requestId];
          if (!waiter) { return; }
          delete pending[data.requestId];
          if (data.type === "sandbox:token") { waiter.resolve({ token: data.token, brand: data.brand, last4: data.last4 }); }
          else { waiter.reject(new Error(data.message || "Your card could not be checked.")); }
        });
        return {
          tokenize: function (details) {
            counter += 1;
            var requestId = "r" + counter;
            return new Promise(function (resolve, reject) {
              pending[requestId] = { resolve: resolve, reject: reject };
              frame.contentWindow.postMessage({ type: "sandbox:tokenize", requestId: requestId, postalCode: (details || {}).postalCode || "" }, origin);
            });
          }
        };
      }
      function authenticate(element, options) {
        var origin = options.gatewayOrigin;
        var frame = framePage(element, options, "/v1/challenge", "Confirm with your bank", "sandbox-challenge-frame", "120px");
        return new Promise(function (resolve, reject) {
          window.addEventListener("message", function (event) {
            if (event.origin !== origin || event.source !== frame.contentWindow) { return; }
            var data = event.data || {};
            if (data.type === "sandbox:ready") {
              frame.contentWindow.postMessage({ type: "sandbox:challenge", charge: options.charge, clientSecret: options.clientSecret }, origin);
            } else if (data.type === "sandbox:authenticated") { resolve(); }
            else if (data.type === "sandbox:error") { reject(new Error(data.message)); }
          });
        });
      }
      window.SandboxFields = { mount: mount, authenticate: authenticate };
    })();
    """
}
