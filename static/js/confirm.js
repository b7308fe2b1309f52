// Forms marked data-confirm="question" ask before they submit (destructive actions). No inline handlers:
// the Content Security Policy allows scripts from this site only.
document.addEventListener("submit", function (event) {
  const question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
