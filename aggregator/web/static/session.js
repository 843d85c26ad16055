// Who is signed in (filled by app.js from /api/v1/me); pages read it to respect roles.
export const session = { me: null, canAct: false };
