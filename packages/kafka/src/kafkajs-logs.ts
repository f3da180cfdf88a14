import type { KoperLogger } from "@koper/core";
import { logLevel, type logCreator } from "kafkajs";

/**
 * A kafkajs `logCreator` that hands every entry to Koper's logger (read on each entry, since Koper
 * passes its logger after the transport was built). kafkajs would print JSON lines to the console.
 */
export function kafkajsLogCreator(current: () => KoperLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      const text = `[kafkajs${namespace ? ` ${namespace}` : ""}] ${message}`;
      const logger = current();
      const extra = Object.keys(fields).length > 0 ? fields : undefined;
      if (level === logLevel.ERROR) logger.error(text, extra);
      else if (level === logLevel.WARN) logger.warn(text, extra);
      else if (level === logLevel.INFO) logger.info(text, extra);
      else if (level === logLevel.DEBUG) logger.debug(text, extra);
    };
}
