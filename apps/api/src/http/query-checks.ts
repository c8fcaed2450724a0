import type { IncomingMessage, ServerResponse } from 'node:http';
import { isUnstorable, UNSTORABLE_RULE } from '@app/platform';
import { isMachineryKey, unknownProperty } from './machinery-keys';
import { answerRefusal } from './refusal-answer';

/**
 * A query parameter named `__proto__`, `constructor` or `prototype`, or with text the
 * database cannot store in its name or value, is answered 400 naming it (where it would have
 * been dropped unseen, or failed as a 500).
 */
export function queryChecks() {
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    const query = new URL(request.url ?? '/', 'http://api').searchParams;
    for (const [name, value] of query) {
      if (isMachineryKey(name)) {
        answerRefusal(request, response, 400, 'Bad Request', unknownProperty('', name));
        return;
      }
      if (isUnstorable(name) || isUnstorable(value)) {
        const field = isUnstorable(name) ? `query parameter ${JSON.stringify(name)}` : name;
        answerRefusal(request, response, 400, 'Bad Request', `${field} ${UNSTORABLE_RULE}`);
        return;
      }
    }
    next();
  };
}
