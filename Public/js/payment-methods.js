// Saves a card through the gateway's hosted fields: the number is typed into the gateway's own
// fields; this page only ever receives what the gateway hands back (a single-use token for the
// sandbox, a confirmed SetupIntent id for Stripe).
document.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("card-fields");
  var form = document.getElementById("add-card-form");
  if (!container || !form) { return; }
  var errorBox = document.getElementById("card-error");
  var confirmCard;

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
  } else if (window.SandboxFields) {
    var fields = window.SandboxFields.mount(container, {
      publicKey: container.dataset.publicKey,
      gatewayOrigin: container.dataset.gatewayOrigin
    });
    confirmCard = function () {
      return fields.tokenize({ postalCode: form.elements.billing_postcode.value }).then(function (result) {
        form.elements.token.value = result.token;
      });
    };
  } else {
    return;
  }

  form.addEventListener("submit", function (event) {
    if (form.dataset.confirmed === "yes") { return; }
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
        Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = false; });
      });
  });
});
