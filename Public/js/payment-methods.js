// Saves a card through the gateway's hosted fields: the number is typed into the gateway's own
// frame; this page only ever sees the single-use token it returns.
document.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("card-fields");
  var form = document.getElementById("add-card-form");
  if (!container || !form || !window.SandboxFields) { return; }
  var fields = window.SandboxFields.mount(container, {
    publicKey: container.dataset.publicKey,
    gatewayOrigin: container.dataset.gatewayOrigin
  });
  var errorBox = document.getElementById("card-error");
  form.addEventListener("submit", function (event) {
    if (form.dataset.tokenized === "yes") { return; }
    event.preventDefault();
    errorBox.hidden = true;
    fields.tokenize({ postalCode: form.elements.billing_postcode.value })
      .then(function (result) {
        form.elements.token.value = result.token;
        form.dataset.tokenized = "yes";
        form.submit();
      })
      .catch(function (error) {
        errorBox.textContent = error.message;
        errorBox.hidden = false;
        Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = false; });
      });
  });
});
