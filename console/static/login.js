// A link into the console (the dashboard's "Watch", /agent#watch=c_…) that met the sign-in
// page keeps its target: the fragment never reaches the server, so the form carries it, and
// the browser keeps it across the server's redirect to /agent.
"use strict";
(() => {
  const form = document.querySelector('[data-testid="login-form"]');
  if (form && /^#watch=c_[\w-]{1,40}$/.test(location.hash)) form.action = `/login${location.hash}`;
})();
