/** The routes of the media endpoints (images, audio, moderations) in the front's table. */
import { z } from "zod";
import { openaiErrorBody } from "../errors.js";
import type { Route } from "../front-routes.js";
import { serveSpeech, serveTranscription } from "./audio.js";
import { serveImages } from "./images.js";
import { imagesSchema, moderationsSchema, speechSchema, transcriptionFieldsSchema } from "./media-schema.js";
import { serveModerations } from "./moderations.js";
import type { OneTargetRuntime } from "./one-target.js";

export function mediaRoutes(rt: OneTargetRuntime): Route[] {
  return [
    {
      kind: "call",
      method: "POST",
      path: "/v1/images/generations",
      doc: { summary: "Generate images from a prompt", tag: "OpenAI API", body: imagesSchema },
      endpoint: "images",
      errorBody: openaiErrorBody,
      serve: (c) => serveImages(c, rt),
    },
    {
      kind: "call",
      method: "POST",
      path: "/v1/audio/transcriptions",
      doc: {
        summary: "Transcribe an audio file (multipart/form-data upload)",
        description:
          "The body is multipart/form-data (not JSON): the audio as the field `file`, with `model`, `response_format` (json, text, verbose_json, srt, vtt), `language`, `prompt`… as text fields.",
        tag: "OpenAI API",
        body: transcriptionFieldsSchema.extend({
          file: z.string().meta({ format: "binary", description: "The audio file." }),
        }),
      },
      endpoint: "audio_transcriptions",
      body: "multipart",
      errorBody: openaiErrorBody,
      serve: (c) => serveTranscription(c, rt),
    },
    {
      kind: "call",
      method: "POST",
      path: "/v1/audio/speech",
      doc: {
        summary: "Generate speech audio from text",
        description: "Answers the audio bytes, with the content type of `response_format` (audio/mpeg by default).",
        tag: "OpenAI API",
        body: speechSchema,
      },
      endpoint: "audio_speech",
      errorBody: openaiErrorBody,
      serve: (c) => serveSpeech(c, rt),
    },
    {
      kind: "call",
      method: "POST",
      path: "/v1/moderations",
      doc: {
        summary: "Classify text (and images) for policy violations",
        tag: "OpenAI API",
        body: moderationsSchema,
      },
      endpoint: "moderations",
      errorBody: openaiErrorBody,
      serve: (c) => serveModerations(c, rt),
    },
  ];
}
