/** The cookie that binds a connect attempt to the browser that started it (name prefix + attempt id). */
export const BINDING_COOKIE_PREFIX = 'kw_ca_';
