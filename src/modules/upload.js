// http/upload: Dirigible's Upload, FileItems and FileItem over the parts
// the native side parses. Called with the native functions; returns the
// module object: the functions of Upload, and the classes.
(function (native) {
  "use strict";

  class FileItem {
    constructor(part) {
      this._part = part;
    }
    /** The file name the client sent (null for a form field). */
    getName() {
      return this._part.fileName;
    }
    getOriginalFilename() {
      return this._part.fileName;
    }
    getFieldName() {
      return this._part.fieldName;
    }
    isFormField() {
      return this._part.fileName === null;
    }
    getContentType() {
      return this._part.contentType;
    }
    getSize() {
      return this._part.bytes.length;
    }
    isEmpty() {
      return this._part.bytes.length === 0;
    }
    /** The content as an array of numbers 0–255. */
    getBytes() {
      return Array.from(this._part.bytes);
    }
    /** The content as a Uint8Array (what response.write takes). */
    getBytesNative() {
      return this._part.bytes;
    }
    /** The content as UTF-8 text. */
    getText() {
      return new TextDecoder().decode(this._part.bytes);
    }
    /** The part's own headers (Content-Disposition, Content-Type, …). */
    getHeaders() {
      const headers = this._part.headers;
      return {
        getHeaderNames: () => Object.keys(headers),
        getHeader: (name) => {
          const value = headers[String(name).toLowerCase()];
          return value === undefined ? null : value;
        },
      };
    }
  }

  class FileItems {
    constructor(items) {
      this._items = items;
    }
    get(index) {
      return this._items[index];
    }
    size() {
      return this._items.length;
    }
    [Symbol.iterator]() {
      return this._items[Symbol.iterator]();
    }
  }

  class Upload {
    static isMultipartContent() {
      return native.isMultipartContent();
    }
    static parseRequest() {
      return new FileItems(native.parse().map((part) => new FileItem(part)));
    }
  }

  return {
    isMultipartContent: Upload.isMultipartContent,
    parseRequest: Upload.parseRequest,
    Upload,
    FileItems,
    FileItem,
  };
});
