// Passkey ceremonies are allauth's (mfa/js/webauthn.js); this only says so on the page when the
// browser refuses or the person cancels, instead of leaving the button silent.
document.addEventListener("allauth.error", (event) => {
  const message = document.querySelector("[data-passkey-error]");
  if (message) {
    message.hidden = false;
    event.preventDefault();
  }
});
