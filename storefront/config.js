// The page's settings. On AWS, stacks/Storefront.ts has the deploy replace the placeholders (the API's URL, the
// stage's storefront settings); `npm start` serves a /config.js of its own instead of this file.
window.STOREFRONT_CONFIG = {
  apiUrl: "{{ API_URL }}",
  auth: "{{ STOREFRONT_AUTH }}",
  items: "{{ STOREFRONT_ITEMS }}",
};
