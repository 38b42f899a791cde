// The main page: draw a digit, watch every layer respond.
import { startDrawingApp } from "./app.js";

await startDrawingApp();
