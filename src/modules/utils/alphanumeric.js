(function () {
  "use strict";
  const LOWERCASEASCII = "abcdefghijklmnopqrstuvwxyz";
  const UPPERCASEASCII = LOWERCASEASCII.toUpperCase();
  const NUMBERS = "1234567890";

  function text(value, what) {
    if (typeof value !== "string") {
      throw new TypeError(`Alphanumeric.${what}: expected a string, not ${value === null ? "null" : typeof value}`);
    }
    return value;
  }

  const Alphanumeric = {
    toAlphanumeric(string) {
      return text(string, "toAlphanumeric").replace(/[^A-Za-z0-9_]/g, "");
    },
    randomString(length, charset) {
      text(charset, "randomString");
      let result = "";
      if (length < 1) length = 4;
      for (let i = 0; i < length; i++) {
        result += charset.charAt(Math.floor(Math.random() * charset.length));
      }
      return result;
    },
    alphanumeric(length, lowercase) {
      let charset = LOWERCASEASCII + NUMBERS;
      if (!lowercase) charset += UPPERCASEASCII;
      return Alphanumeric.randomString(length, charset);
    },
    alpha(length, lowercase) {
      let charset = LOWERCASEASCII;
      if (!lowercase) charset += UPPERCASEASCII;
      return Alphanumeric.randomString(length, charset);
    },
    numeric(length) {
      return Alphanumeric.randomString(length, NUMBERS);
    },
    isNumeric(str) {
      for (let i = 0, len = str.length; i < len; i++) {
        const code = str.charCodeAt(i);
        if (!(code > 47 && code < 58)) return false;
      }
      return true;
    },
    isAlphanumeric(str) {
      for (let i = 0, len = str.length; i < len; i++) {
        const code = str.charCodeAt(i);
        if (!(code > 47 && code < 58) && !(code > 64 && code < 91) && !(code > 96 && code < 123)) {
          return false;
        }
      }
      return true;
    },
  };
  return Alphanumeric;
})
