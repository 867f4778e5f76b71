/** A module that forgets to call registerApp. */
export const app = { map: () => [], reduce: () => '' };
