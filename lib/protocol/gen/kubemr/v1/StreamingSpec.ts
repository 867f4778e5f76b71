// Original file: proto/kubemr.proto


export interface StreamingSpec {
  'mapper'?: (string);
  'reducer'?: (string);
  'combiner'?: (string);
}

export interface StreamingSpec__Output {
  'mapper': (string);
  'reducer': (string);
  'combiner': (string);
}
