// Card entry through the gateway's hosted fields, for the form marked `data-card-form`: the number
// is typed into the gateway's own fields; this page only ever receives what the gateway hands back
// (a single-use token for the sandbox, a confirmed SetupIntent id for Stripe, AcceptUI's opaque data
// for Authorize.Net). On the payment form the fields are used only when "a new card" is chosen.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-card-form]");
  var container = document.getElementById("card-fields");
  if (!container || !form) { return; }
  var errorBox = document.getElementById("card-error");
  var confirmCard;
  var enableButtons = function () {
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = false; });
  };

  if (container.dataset.gateway === "stripe" && window.Stripe) {
    var stripe = window.Stripe(container.dataset.publicKey);
    var card = stripe.elements().create("card");
    card.mount(container);
    confirmCard = function () {
      return stripe.confirmCardSetup(container.dataset.clientSecret, {
        payment_method: { card: card, billing_details: { name: form.elements.billing_name.value } }
      }).then(function (result) {
        if (result.error) { throw new Error(result.error.message || "Your card could not be saved."); }
        form.elements.setup_intent.value = result.setupIntent.id;
      });
    };
  } else if (container.dataset.gateway === "authorizenet") {
    // AcceptUI wires the .AcceptUI button (in the page before its script) to its lightbox, which is
    // Authorize.Net's own frame, and calls back the handler the button names, on window.
    var acceptButton = form.querySelector("button.AcceptUI");
    if (!acceptButton) { return; }
    var pending = null;
    window.portalAcceptUIResponse = function (response) {
      if (!pending) { return; }
      var done = pending;
      pending = null;
      var messages = (response && response.messages) || {};
      if (messages.resultCode !== "Ok" || !response.opaqueData) {
        var first = (messages.message || [])[0];
        done.reject(new Error((first && first.text) || "Your card could not be saved."));
        return;
      }
      form.elements.data_descriptor.value = response.opaqueData.dataDescriptor;
      form.elements.data_value.value = response.opaqueData.dataValue;
      // "MM/YY", shown by AcceptUI; kept in case Authorize.Net answers the expiry masked.
      var expiry = ((response.encryptedCardData || {}).expDate || "").split("/");
      form.elements.exp_month.value = expiry[0] || "";
      form.elements.exp_year.value = expiry[1] || "";
      done.resolve();
    };
    confirmCard = function () {
      return new Promise(function (resolve, reject) {
        pending = { resolve: resolve, reject: reject };
        acceptButton.click();
        // The lightbox can be closed without an answer; the form stays usable for another try.
        setTimeout(enableButtons, 0);
      });
    };
  } else if (window.SandboxFields) {
    var fields = window.SandboxFields.mount(container, {
      publicKey: container.dataset.publicKey,
      gatewayOrigin: container.dataset.gatewayOrigin
    });
    confirmCard = function () {
      return fields.tokenize({ postalCode: form.elements.billing_postcode.value }).then(function (result) {
        form.elements.token.value = result.token;
        if (form.elements.card_label) { form.elements.card_label.value = (result.brand || "card") + " " + (result.last4 || ""); }
      });
    };
  } else {
    return;
  }

  function newCardChosen() {
    var choice = form.querySelector("input[name=method]:checked");
    return !form.querySelector("input[name=method]") || (choice && choice.value === "new");
  }

  form.addEventListener("submit", function (event) {
    if (form.dataset.confirmed === "yes" || !newCardChosen()) { return; }
    event.preventDefault();
    errorBox.hidden = true;
    confirmCard()
      .then(function () {
        form.dataset.confirmed = "yes";
        form.submit();
      })
      .catch(function (error) {
        errorBox.textContent = error.message;
        errorBox.hidden = false;
        enableButtons();
      });
  });
});
